"""The composition root: settings read, objects built and wired, the CLI."""

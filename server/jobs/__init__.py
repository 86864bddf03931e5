"""Background jobs: work that runs on a timer rather than on a request."""

"""The HTML pages: gather what a page shows through the services, render it."""

"""The JSON API under ``/api/``: one module per resource, all routes in one registry."""

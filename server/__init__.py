"""Hearth's composition root: settings, the app factory, storage, auth and the API.

Only this package imports the others (``signaling``, ``media``, ``encounters``, ``web``).
"""

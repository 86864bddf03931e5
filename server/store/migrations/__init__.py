"""Alembic migrations. Apply with ``hearth db upgrade``."""

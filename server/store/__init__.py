"""Storage: the SQLAlchemy models, the database and its migrations, and the queries
the services share. Imports nothing above it.

Importing the package registers every table on one metadata (``models.Base``), whichever
module of it is imported first.
"""

from server.store import (
    between_visits,
    drills,
    education,
    family_messages,
    models,
    notes,
    quality,
    recordings,
    scheduling,
)

__all__ = [
    "between_visits",
    "drills",
    "education",
    "family_messages",
    "models",
    "notes",
    "quality",
    "recordings",
    "scheduling",
]

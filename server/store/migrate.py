"""Applying and checking migrations, from the CLI and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(database_url: str, audit_key: bytes | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("hearth.database_url", database_url)
    # The audit chain's key, for a revision that chains existing audit rows (0007).
    config.attributes["hearth.audit_key"] = audit_key
    return config


def upgrade(database_url: str, revision: str = "head", *, audit_key: bytes | None = None) -> None:
    """Apply migrations up to ``revision``. Runs its own event loop: call it from sync code.

    ``audit_key`` is needed only where audit rows exist from before their chain (0007)."""
    command.upgrade(alembic_config(database_url, audit_key), revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

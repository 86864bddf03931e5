"""The audit log becomes a keyed hash chain, and PostgreSQL refuses TRUNCATE on it.

Every row gets ``prev_hash`` and ``row_hash`` (see ``server/store/audit_chain.py``). Rows that
exist already are chained here, in id order, under the same key the server uses, so the whole
log verifies as one chain from its first row. The key comes from ``hearth db upgrade``
(HEARTH_AUDIT_KEY, else derived from HEARTH_SECRET_KEY); a database with audit rows is not
upgraded without it. Leaving the old rows unchained instead would leave a segment anyone with
database access could rewrite, or extend over the chained rows, without a trace.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from server.store.audit_chain import CHAIN_FIELDS, GENESIS, chain
from server.store.models import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TYPES: dict[type, sa.types.TypeEngine[Any]] = {
    dt.datetime: UtcDateTime(),
    int: sa.Integer(),
    str: sa.String(),
}
_AUDIT = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
    *(sa.column(name, _TYPES[kind]) for name, kind in CHAIN_FIELDS),
)
_BATCH = 1000

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
]
# The row trigger of 0001 cannot see TRUNCATE, which removes every row without deleting any.
# A statement trigger can: it runs the same function, which refuses.
_PG_NO_TRUNCATE = """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"""


def _append_only(on: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        state = "ENABLE" if on else "DISABLE"
        op.execute(f"ALTER TABLE audit_events {state} TRIGGER audit_events_no_change")
    elif on:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")


def _chain_existing_rows(key: bytes) -> None:
    bind = op.get_bind()
    prev_hash, last_id = GENESIS, 0
    while True:
        rows = (
            bind.execute(
                sa.select(_AUDIT).where(_AUDIT.c.id > last_id).order_by(_AUDIT.c.id).limit(_BATCH)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        linked = chain(key, rows, prev_hash)
        bind.execute(
            sa.text("UPDATE audit_events SET prev_hash = :p, row_hash = :h WHERE id = :i"),
            [
                {"p": new["prev_hash"], "h": new["row_hash"], "i": old["id"]}
                for old, new in zip(rows, linked, strict=True)
            ],
        )
        prev_hash, last_id = linked[-1]["row_hash"], rows[-1]["id"]


def upgrade() -> None:
    bind = op.get_bind()
    key = context.config.attributes.get("hearth.audit_key")
    # Checked before any change: SQLite does not roll DDL back with the migration.
    if key is None and bind.execute(sa.text("SELECT 1 FROM audit_events LIMIT 1")).first():
        raise RuntimeError(
            "the audit log has rows to chain, and no key to chain them with: set "
            "HEARTH_AUDIT_KEY or HEARTH_SECRET_KEY as the server has it and run "
            "`hearth db upgrade` again"
        )
    _append_only(False)
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    if key is not None:
        _chain_existing_rows(key)
    # NOT NULL: a row written around the chain fails at once instead of breaking it quietly.
    # On SQLite this rebuilds the table, which drops its triggers: they are made again below.
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
    _append_only(True)
    if bind.dialect.name == "postgresql":
        op.execute(_PG_NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    _append_only(False)
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
    _append_only(True)

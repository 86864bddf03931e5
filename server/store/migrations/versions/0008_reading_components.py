"""A blood pressure's diastolic keeps its own absent reason.

A cuff can send a special value (NaN, NRes, ±INF) for one component and a number for another.
``absent_reason`` is the reason of ``value`` (the systolic for a blood pressure) and
``absent_reason2`` that of ``value2`` (the diastolic), so a NaN systolic no longer loses a
valid diastolic. Stored blood pressures without a value had no component measured: their
diastolic gets the same reason.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.add_column(sa.Column("absent_reason2", sa.String(length=30), nullable=True))
    op.execute(
        "UPDATE readings SET absent_reason2 = absent_reason "
        "WHERE kind = 'blood_pressure' AND value2 IS NULL AND absent_reason IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("absent_reason2")

"""Visit recordings with consent (issue 20).

``recordings``: one row per recording of a visit (who started it, when it started and
stopped and why, its sealed files, when its retention ends, when it was deleted).
``recording_withdrawals``: a participant's withdrawal of the agreement to recording.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(length=20), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "stop_reason IN ('clinician', 'withdrawn', 'call_ended', 'lost')",
            name=op.f("ck_recordings_stop_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_recordings_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["started_by"], ["users.id"], name=op.f("fk_recordings_started_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("token", name=op.f("uq_recordings_token")),
    )
    op.create_index("ix_recordings_encounter_id", "recordings", ["encounter_id"])
    op.create_index("ix_recordings_delete_after", "recordings", ["delete_after"])
    op.create_table(
        "recording_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_recording_withdrawals_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_withdrawals")),
    )
    op.create_index(
        op.f("ix_recording_withdrawals_encounter_id"), "recording_withdrawals", ["encounter_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recording_withdrawals_encounter_id"), "recording_withdrawals")
    op.drop_table("recording_withdrawals")
    op.drop_index("ix_recordings_delete_after", "recordings")
    op.drop_index("ix_recordings_encounter_id", "recordings")
    op.drop_table("recordings")

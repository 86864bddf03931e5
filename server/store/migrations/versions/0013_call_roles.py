"""Visit links with a role, and who was in each call.

``join_links.role``: whom the link brings in: ``family`` (every link so far), ``interpreter``
or ``guest_clinician`` (a clinician from outside the care team); the last two come into the
call only. ``call_participants``: one row per person first admitted to a visit's call, with
the name and role the call showed, for the visit note.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("join_links") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=20), server_default="family", nullable=False)
        )
        batch.create_check_constraint(
            "role", "role IN ('family', 'interpreter', 'guest_clinician')"
        )
    op.create_table(
        "call_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_call_participants_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_call_participants_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["join_links.id"], name=op.f("fk_call_participants_link_id_join_links")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_participants")),
    )
    op.create_index("ix_call_participants_encounter", "call_participants", ["encounter_id"])


def downgrade() -> None:
    op.drop_index("ix_call_participants_encounter", table_name="call_participants")
    op.drop_table("call_participants")
    with op.batch_alter_table("join_links") as batch:
        batch.drop_constraint("role", type_="check")
        batch.drop_column("role")

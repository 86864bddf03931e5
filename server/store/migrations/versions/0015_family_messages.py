"""Messages between a family and the care team (issue 18).

``family_messages``: one row per message either way (family or team), stored once per
(patient, client id); when the other side read it; the red-flag words found, whether it came
outside the team's hours, and the alert it raised.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("diary_link_id", sa.Integer(), nullable=True),
        sa.Column("join_link_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=80), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by", sa.Integer(), nullable=True),
        sa.Column("red_flags", sa.JSON(), nullable=False),
        sa.Column("after_hours", sa.Boolean(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_family_messages_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_family_messages_author_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["diary_link_id"],
            ["diary_links.id"],
            name=op.f("fk_family_messages_diary_link_id_diary_links"),
        ),
        sa.ForeignKeyConstraint(
            ["join_link_id"],
            ["join_links.id"],
            name=op.f("fk_family_messages_join_link_id_join_links"),
        ),
        sa.ForeignKeyConstraint(
            ["read_by"], ["users.id"], name=op.f("fk_family_messages_read_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_family_messages_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_messages")),
        sa.UniqueConstraint("patient_id", "client_id", name="uq_family_messages_client"),
    )
    op.create_index(
        "ix_family_messages_patient_received", "family_messages", ["patient_id", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_family_messages_patient_received", table_name="family_messages")
    op.drop_table("family_messages")

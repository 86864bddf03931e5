"""Mock crisis drills: the drill, its recorded events, and drill ids on alerts and diary entries.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=80), nullable=False),
        sa.Column("scenario", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_event", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('ready', 'running', 'finished', 'cancelled')", name=op.f("ck_drills_status")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_drills_clinician_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_drills_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_drills_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_drills_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drills")),
        sa.UniqueConstraint("encounter_id", name=op.f("uq_drills_encounter_id")),
    )
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.create_index(
            "ix_drills_patient_created", ["patient_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_drills_status", ["status"], unique=False)

    op.create_table(
        "drill_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drill_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_link_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('started', 'prompt', 'diary', 'reading', 'family_step', 'teach_back', "
            "'said', 'finished', 'cancelled')",
            name=op.f("ck_drill_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_link_id"],
            ["join_links.id"],
            name=op.f("fk_drill_events_actor_link_id_join_links"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_drill_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["drill_id"], ["drills.id"], name=op.f("fk_drill_events_drill_id_drills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drill_events")),
        sa.UniqueConstraint("drill_id", "key", name="uq_drill_events_drill_key"),
    )
    with op.batch_alter_table("drill_events", schema=None) as batch_op:
        batch_op.create_index("ix_drill_events_drill_at", ["drill_id", "at"], unique=False)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_drill_id"), ["drill_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_drill_id_drills"), "drills", ["drill_id"], ["id"]
        )

    with op.batch_alter_table("diary_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_diary_entries_drill_id"), ["drill_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_diary_entries_drill_id_drills"), "drills", ["drill_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("diary_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_diary_entries_drill_id_drills"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_diary_entries_drill_id"))
        batch_op.drop_column("drill_id")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_drill_id_drills"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_drill_id"))
        batch_op.drop_column("drill_id")

    with op.batch_alter_table("drill_events", schema=None) as batch_op:
        batch_op.drop_index("ix_drill_events_drill_at")

    op.drop_table("drill_events")
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.drop_index("ix_drills_status")
        batch_op.drop_index("ix_drills_patient_created")

    op.drop_table("drills")

"""Family education: topics assigned to a family and each teach-back point's answers.

``education_assignments`` (one row per patient and topic: level, who assigned it and in which
visit, when the family first and last opened it and how often, when they asked a question)
and ``education_teach_back`` (one row per point per sitting: correct, partly or not yet).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "education_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.Integer(), nullable=True),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("first_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("question_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_education_assignments_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["users.id"], name=op.f("fk_education_assignments_assigned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_education_assignments_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_assignments")),
        sa.UniqueConstraint("patient_id", "topic_id", name="uq_education_assignments_topic"),
    )
    op.create_index(
        op.f("ix_education_assignments_patient_id"), "education_assignments", ["patient_id"]
    )
    op.create_table(
        "education_teach_back",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=False),
        sa.Column("point_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("is_drill", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_education_teach_back_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_education_teach_back_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_education_teach_back_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_teach_back")),
    )
    op.create_index(
        "ix_education_teach_back_patient_topic",
        "education_teach_back",
        ["patient_id", "topic_id", "recorded_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_education_teach_back_patient_topic", table_name="education_teach_back")
    op.drop_table("education_teach_back")
    op.drop_index(op.f("ix_education_assignments_patient_id"), table_name="education_assignments")
    op.drop_table("education_assignments")

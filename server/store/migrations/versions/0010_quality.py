"""Quality improvement (issue 19): outcomes, the family survey, connection trouble, reviews.

``outcome_records`` (admissions, emergency department visits, emergency calls, deaths with the
preferred place beside the place of death, discharges; earlier versions kept in ``history``),
``survey_responses`` (anonymous: care team, day and answers only) and ``survey_receipts``
(which visit link has answered or declined, without the answers), ``connection_events`` (one
row per connection trouble in a visit) and ``escalation_reviews`` (the review of an alert
that passed a tier's deadline).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("care_team", sa.String(length=200), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("is_drill", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
    )
    op.create_index(
        "ix_survey_responses_team_day",
        "survey_responses",
        ["care_team", "answered_on"],
        unique=False,
    )
    op.create_table(
        "outcome_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("crisis_plan_used", sa.Boolean(), nullable=True),
        sa.Column("place_of_death", sa.String(length=20), nullable=True),
        sa.Column("preferred_place", sa.String(length=20), nullable=True),
        sa.Column("discharge_reason", sa.String(length=30), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('admission', 'ed_visit', 'emergency_call', 'death', 'discharge')",
            name=op.f("ck_outcome_records_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outcome_records_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_outcome_records_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_records")),
    )
    op.create_index(
        "ix_outcome_records_patient_occurred",
        "outcome_records",
        ["patient_id", "occurred_on"],
        unique=False,
    )
    op.create_table(
        "connection_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('failed_join', 'reconnection', 'sound_only', 'poor_quality')",
            name=op.f("ck_connection_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_connection_events_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_events")),
    )
    op.create_index(
        "ix_connection_events_encounter", "connection_events", ["encounter_id"], unique=False
    )
    op.create_table(
        "survey_receipts",
        sa.Column("join_link_id", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["join_link_id"],
            ["join_links.id"],
            name=op.f("fk_survey_receipts_join_link_id_join_links"),
        ),
        sa.PrimaryKeyConstraint("join_link_id", name=op.f("pk_survey_receipts")),
    )
    op.create_table(
        "escalation_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("what_changes", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "cause IN ('staffing', 'handover', 'contact_details', 'device_or_app', 'workload', "
            "'unclear_plan', 'other')",
            name=op.f("ck_escalation_reviews_cause"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_escalation_reviews_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_escalation_reviews_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_reviews")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_escalation_reviews_alert_id")),
    )


def downgrade() -> None:
    op.drop_table("escalation_reviews")
    op.drop_table("survey_receipts")
    op.drop_index("ix_connection_events_encounter", table_name="connection_events")
    op.drop_table("connection_events")
    op.drop_index("ix_outcome_records_patient_occurred", table_name="outcome_records")
    op.drop_table("outcome_records")
    op.drop_index("ix_survey_responses_team_day", table_name="survey_responses")
    op.drop_table("survey_responses")

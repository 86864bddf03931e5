"""Scheduling: clinicians' hours, time off and kinds; reminder jobs; calendar feeds; changes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_calendar_feeds_clinician_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_calendar_feeds_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["users.id"], name=op.f("fk_calendar_feeds_revoked_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_feeds_clinician_id"), ["clinician_id"], unique=False
        )

    op.create_table(
        "clinician_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "end_minute > start_minute AND end_minute <= 1440",
            name=op.f("ck_clinician_hours_end_minute"),
        ),
        sa.CheckConstraint(
            "start_minute >= 0 AND start_minute < 1440",
            name=op.f("ck_clinician_hours_start_minute"),
        ),
        sa.CheckConstraint(
            "weekday >= 0 AND weekday <= 6", name=op.f("ck_clinician_hours_weekday")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_clinician_hours_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinician_hours")),
    )
    with op.batch_alter_table("clinician_hours", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinician_hours_clinician_id"), ["clinician_id"], unique=False
        )

    op.create_table(
        "clinician_kinds",
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("length_minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('video_visit', 'in_person', 'pharmacy_review', 'social_work')",
            name=op.f("ck_clinician_kinds_kind"),
        ),
        sa.CheckConstraint(
            "length_minutes > 0 AND length_minutes <= 240", name=op.f("ck_clinician_kinds_length")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_clinician_kinds_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("clinician_id", "kind", name=op.f("pk_clinician_kinds")),
    )
    op.create_table(
        "clinician_time_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_clinician_time_off_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_clinician_time_off_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinician_time_off")),
    )
    with op.batch_alter_table("clinician_time_off", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinician_time_off_clinician_id"), ["clinician_id"], unique=False
        )

    op.create_table(
        "encounter_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("old_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("old_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('book', 'reschedule', 'cancel')", name=op.f("ck_encounter_changes_action")
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_encounter_changes_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_encounter_changes_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounter_changes")),
    )
    with op.batch_alter_table("encounter_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_encounter_changes_encounter_id"), ["encounter_id"], unique=False
        )

    op.create_table(
        "reminder_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("family_member_id", sa.Integer(), nullable=False),
        sa.Column("which", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_reminder_jobs_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'cancelled', 'skipped', 'failed')",
            name=op.f("ck_reminder_jobs_status"),
        ),
        sa.CheckConstraint(
            "which IN ('day_before', 'hour_before')", name=op.f("ck_reminder_jobs_which")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_reminder_jobs_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["family_member_id"],
            ["family_members.id"],
            name=op.f("fk_reminder_jobs_family_member_id_family_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_jobs")),
        sa.UniqueConstraint(
            "encounter_id", "which", "family_member_id", name="uq_reminder_jobs_once"
        ),
    )
    with op.batch_alter_table("reminder_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_reminder_jobs_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminder_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_jobs_status_due")

    op.drop_table("reminder_jobs")
    with op.batch_alter_table("encounter_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encounter_changes_encounter_id"))

    op.drop_table("encounter_changes")
    with op.batch_alter_table("clinician_time_off", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinician_time_off_clinician_id"))

    op.drop_table("clinician_time_off")
    op.drop_table("clinician_kinds")
    with op.batch_alter_table("clinician_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinician_hours_clinician_id"))

    op.drop_table("clinician_hours")
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feeds_clinician_id"))

    op.drop_table("calendar_feeds")

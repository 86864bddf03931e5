"""The visit note's narrative, its sign-off, and addenda after it.

``visit_notes`` holds one visit's narrative and, once signed, who signed and when;
``note_addenda`` what was added after the sign-off. The database refuses to change a signed
note or any addendum (triggers on SQLite and PostgreSQL), so a signed note is never edited.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


_SQLITE_TRIGGERS = [
    """CREATE TRIGGER visit_notes_signed_no_update BEFORE UPDATE ON visit_notes
       WHEN OLD.signed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'a signed visit note is not changed'); END""",
    """CREATE TRIGGER visit_notes_signed_no_delete BEFORE DELETE ON visit_notes
       WHEN OLD.signed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'a signed visit note is not changed'); END""",
    """CREATE TRIGGER note_addenda_no_update BEFORE UPDATE ON note_addenda
       BEGIN SELECT RAISE(ABORT, 'note_addenda is append-only'); END""",
    """CREATE TRIGGER note_addenda_no_delete BEFORE DELETE ON note_addenda
       BEGIN SELECT RAISE(ABORT, 'note_addenda is append-only'); END""",
]
_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION visit_notes_signed_final() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.signed_at IS NOT NULL THEN
           RAISE EXCEPTION 'a signed visit note is not changed';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER visit_notes_signed_no_change BEFORE UPDATE OR DELETE ON visit_notes
       FOR EACH ROW EXECUTE FUNCTION visit_notes_signed_final()""",
    """CREATE FUNCTION note_addenda_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'note_addenda is append-only'; END $$""",
    """CREATE TRIGGER note_addenda_no_change BEFORE UPDATE OR DELETE ON note_addenda
       FOR EACH ROW EXECUTE FUNCTION note_addenda_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "visit_notes",
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("narrative_by", sa.Integer(), nullable=True),
        sa.Column("narrative_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_visit_notes_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["narrative_by"], ["users.id"], name=op.f("fk_visit_notes_narrative_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"], ["users.id"], name=op.f("fk_visit_notes_signed_by_users")
        ),
        sa.PrimaryKeyConstraint("encounter_id", name=op.f("pk_visit_notes")),
    )
    op.create_table(
        "note_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_note_addenda_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_note_addenda_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_addenda")),
    )
    op.create_index(
        "ix_note_addenda_encounter_created", "note_addenda", ["encounter_id", "created_at"]
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER note_addenda_no_change ON note_addenda")
        op.execute("DROP FUNCTION note_addenda_append_only()")
        op.execute("DROP TRIGGER visit_notes_signed_no_change ON visit_notes")
        op.execute("DROP FUNCTION visit_notes_signed_final()")
    op.drop_index("ix_note_addenda_encounter_created", table_name="note_addenda")
    op.drop_table("note_addenda")
    op.drop_table("visit_notes")

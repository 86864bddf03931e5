"""Languages: the one a staff member chose, a family member's, and the one chosen on a link.

``users.language``, ``family_members.language``, ``join_links.language`` and
``diary_links.language``: a language code Hearth has a catalogue for, or NULL until someone
chooses (then the device's choice, the patient's language and the browser's apply).
``join_links.family_member_id``: whom a reminder sent the link to, so a language chosen on
it is remembered for that person.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("users", "family_members", "join_links", "diary_links")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("language", sa.String(16), nullable=True))
    with op.batch_alter_table("join_links") as batch:
        batch.add_column(sa.Column("family_member_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_join_links_family_member_id_family_members"),
            "family_members",
            ["family_member_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("join_links") as batch:
        batch.drop_constraint(
            op.f("fk_join_links_family_member_id_family_members"), type_="foreignkey"
        )
        batch.drop_column("family_member_id")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("language")

"""An alert raised for several reasons at once names every reason it covers.

One diary entry that crosses several symptom rules raises one alert; ``covers`` holds the
de-duplication key of each reason, so a later entry with the same finding is recognised as
already covered while the alert is open.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("covers", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("covers")

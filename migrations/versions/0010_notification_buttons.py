"""One-tap buttons on outbox notifications (issue 12: 👍/👎 in the pushed
"dossier finished" message). Nullable JSON: older rows stay plain texts.

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
    # batch mode: SQLite cannot drop a column in place (downgrade); harmless on PostgreSQL.
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("buttons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("buttons")

"""Hand-off live: pause, conversation messages, canned replies, office hours (issue 11).

`handoff_requests` gains when it was claimed and how it ended; the messages of
a held conversation and the officers' canned replies get their own tables.
The pause itself is the request's status ("taken"), read by the Rasa gate;
office hours are configuration (dossiers/office_hours.yml), not tables.

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
    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.String(length=32), nullable=True))

    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "author IN ('citizen', 'officer', 'system')", name="ck_handoff_messages_author"
        ),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_messages", schema=None) as batch_op:
        batch_op.create_index("ix_handoff_messages_handoff", ["handoff_id", "id"], unique=False)

    op.create_table(
        "handoff_canned_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("title", name="uq_handoff_canned_replies_title"),
    )


def downgrade() -> None:
    op.drop_table("handoff_canned_replies")
    with op.batch_alter_table("handoff_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_messages_handoff")
    op.drop_table("handoff_messages")
    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("claimed_at")

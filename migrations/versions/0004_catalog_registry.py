"""Catalog: legal-document registry, dated fee rules, document kinds (issue 10).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_documents",
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("amended_by", sa.JSON(), nullable=False),
        sa.Column("replaced_by", sa.String(length=200), nullable=True),
        sa.Column("expired_on", sa.Date(), nullable=True),
        sa.Column("status_source", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("cited_by", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    # Existing rows get neutral values; the next `tthc catalog import` (its
    # fingerprint includes the parser) fills them.
    with op.batch_alter_table("procedure_methods") as batch:
        batch.add_column(
            sa.Column("fee_rules", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("procedure_documents") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="submit")
        )
    with op.batch_alter_table("procedure_legal_bases") as batch:
        batch.add_column(
            sa.Column("doc_type", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("procedure_legal_bases") as batch:
        batch.drop_column("doc_type")
    with op.batch_alter_table("procedure_documents") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("procedure_methods") as batch:
        batch.drop_column("fee_rules")
    op.drop_table("legal_documents")

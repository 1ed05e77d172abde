"""One-stop-shop integration: delivery jobs, inbound status events (issue 13).

Tables of `dossiers.integration_orm`: supplement requests and their parts,
delivery jobs (outbound outbox), inbound status events (idempotency by
client + event id) and integration clients.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("hmac_secret", sa.String(length=128), nullable=True),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_integration_clients_name"),
    )
    op.create_table(
        "inbound_status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_name", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_name", "event_id", name="uq_inbound_status_events_event"),
    )
    with op.batch_alter_table("inbound_status_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_status_events_dossier", ["dossier_id", "occurred_at"], unique=False
        )
    op.create_table(
        "supplement_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("completed_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'completed', 'cancelled')", name="ck_supplement_requests_status"
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supplement_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supplement_requests_dossier", ["dossier_id", "status"], unique=False
        )
    op.create_table(
        "delivery_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("supplement_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("remote_reference", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('dossier', 'supplement')", name="ck_delivery_jobs_kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'failed', 'rejected')",
            name="ck_delivery_jobs_status",
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["supplement_id"], ["supplement_requests.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key", name="uq_delivery_jobs_idempotency_key"),
    )
    with op.batch_alter_table("delivery_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_jobs_dossier_id"), ["dossier_id"], unique=False
        )
        batch_op.create_index("ix_delivery_jobs_due", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "supplement_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("supplement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('file', 'text')", name="ck_supplement_parts_kind"),
        sa.ForeignKeyConstraint(["attachment_id"], ["dossier_attachments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["supplement_id"], ["supplement_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supplement_parts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplement_parts_supplement_id"), ["supplement_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("supplement_parts")
    op.drop_table("delivery_jobs")
    op.drop_table("supplement_requests")
    op.drop_table("inbound_status_events")
    op.drop_table("integration_clients")

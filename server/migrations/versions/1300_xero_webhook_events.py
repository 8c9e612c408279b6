"""xero webhook events: deliveries recorded by the receiver, pulled by the webhook worker

Revision ID: 1300
Revises: 1200
Create Date: 2026-12-03 09:00:00.000000

The receiver only records the events of a delivery (Xero wants its answer within 5 s); the webhook
worker turns them into targeted pulls and marks them processed. The unique key drops the events of
a delivery Xero retries.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types


revision: str = '1300'
down_revision: str | Sequence[str] | None = '1200'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'xero_webhook_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('resource_id', sa.String(length=64), nullable=False),
        sa.Column('event_type', sa.String(length=16), nullable=False),
        sa.Column('event_date', server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('processed_at', server.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_xero_webhook_events')),
        sa.UniqueConstraint(
            'tenant_id', 'category', 'resource_id', 'event_type', 'event_date',
            name='uq_xero_webhook_events_event',
        ),
    )
    op.create_index(
        'ix_xero_webhook_events_processed_at_tenant_id',
        'xero_webhook_events',
        ['processed_at', 'tenant_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_xero_webhook_events_processed_at_tenant_id', table_name='xero_webhook_events')
    op.drop_table('xero_webhook_events')

"""shared limits: Xero's limits counted for every process, and pulls as claimed work

Revision ID: 1500
Revises: 1400
Create Date: 2026-12-04 19:20:00.000000

``xero_tenant_limits`` and ``xero_call_slots`` hold each tenant's calls in flight, its rolling
minute, its daily count and a 429's pause for every process (PostgreSQL; SQLite leaves them empty).
``due_pulls`` holds the pulls that are due, one per organisation, for any process to claim.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types


revision: str = '1500'
down_revision: str | Sequence[str] | None = "1400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'xero_tenant_limits',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('paused_until', server.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('day_remaining', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_xero_tenant_limits')),
    )
    op.create_table(
        'xero_call_slots',
        sa.Column(
            'id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False
        ),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('started_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_xero_call_slots')),
    )
    op.create_index('ix_xero_call_slots_tenant_id_ends_at', 'xero_call_slots', ['tenant_id', 'ends_at'])
    op.create_index('ix_xero_call_slots_ends_at', 'xero_call_slots', ['ends_at'])
    op.create_table(
        'due_pulls',
        sa.Column('organisation_id', sa.Uuid(), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('due_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=100), server_default='', nullable=False),
        sa.Column('claim_expires_at', server.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'],
            name=op.f('fk_due_pulls_organisation_id_organisations'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_due_pulls')),
    )
    op.create_index(op.f('ix_due_pulls_due_at'), 'due_pulls', ['due_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_due_pulls_due_at'), table_name='due_pulls')
    op.drop_table('due_pulls')
    op.drop_index('ix_xero_call_slots_ends_at', table_name='xero_call_slots')
    op.drop_index('ix_xero_call_slots_tenant_id_ends_at', table_name='xero_call_slots')
    op.drop_table('xero_call_slots')
    op.drop_table('xero_tenant_limits')

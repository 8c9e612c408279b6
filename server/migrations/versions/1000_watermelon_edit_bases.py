"""watermelon edit bases: earlier record contents, devices' last pulls, record bases

Revision ID: 1000
Revises: 0700
Create Date: 2026-12-02 01:30:00.000000

A WatermelonDB app cannot send the record it edited from; the server judges its push against the
record as of the app's earlier cursor (``sync_record_earlier``, ``watermelon_pulls``), against the
base of an edit it refused before, or as of the device's own applied edit
(``watermelon_record_bases``). Nothing to fill in: an edit pushed before this revision is judged as
before (against the server's record).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types


revision: str = '1000'
down_revision: str | Sequence[str] | None = '0700'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sync_record_earlier',
        sa.Column('organisation_id', sa.Uuid(), nullable=False),
        sa.Column('entity', sa.String(length=32), nullable=False),
        sa.Column('entity_id', sa.String(length=64), nullable=False),
        sa.Column('replaced_at', sa.BigInteger(), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('changed_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('organisation_id', 'entity', 'entity_id', 'replaced_at'),
    )
    op.create_index(
        op.f('ix_sync_record_earlier_changed_at'), 'sync_record_earlier', ['changed_at'], unique=False
    )
    op.create_table(
        'watermelon_pulls',
        sa.Column('device_id', sa.Uuid(), nullable=False),
        sa.Column('organisation_id', sa.Uuid(), nullable=False),
        sa.Column('pulled_from', sa.BigInteger(), nullable=False),
        sa.Column('pulled_to', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('device_id'),
    )
    op.create_table(
        'watermelon_record_bases',
        sa.Column('device_id', sa.Uuid(), nullable=False),
        sa.Column('entity', sa.String(length=32), nullable=False),
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('organisation_id', sa.Uuid(), nullable=False),
        sa.Column('base_cursor', sa.BigInteger(), nullable=False),
        sa.Column('pending', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('device_id', 'entity', 'record_id'),
    )


def downgrade() -> None:
    op.drop_table('watermelon_record_bases')
    op.drop_table('watermelon_pulls')
    op.drop_index(op.f('ix_sync_record_earlier_changed_at'), table_name='sync_record_earlier')
    op.drop_table('sync_record_earlier')

"""watermelon line origins (watermelon_invoice_lines.created_version, device_id); tombstone index

Revision ID: 0800
Revises: 0900
Create Date: 2026-12-01 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0800'
down_revision: str | Sequence[str] | None = '0900'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Lines stored before: unknown origin (NULL), served as before (with their invoice).
    with op.batch_alter_table('watermelon_invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_version', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('device_id', sa.Uuid(), nullable=True))
    # Tombstones only, for the scheduled purge.
    op.create_index(
        'ix_sync_records_tombstones',
        'sync_records',
        ['organisation_id', 'changed_at'],
        unique=False,
        postgresql_where=sa.text('payload IS NULL'),
        sqlite_where=sa.text('payload IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_sync_records_tombstones', table_name='sync_records')
    with op.batch_alter_table('watermelon_invoice_lines', schema=None) as batch_op:
        batch_op.drop_column('device_id')
        batch_op.drop_column('created_version')

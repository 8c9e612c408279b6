"""watermelondb: sync_records.created_version, watermelon_invoice_lines

Revision ID: 0500
Revises: 0300
Create Date: 2026-11-21 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0500'
down_revision: str | Sequence[str] | None = '0300'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing records: the best known first appearance is their current version (a client whose
    # cursor is older gets them as `created`; WatermelonDB then updates what it already has).
    with op.batch_alter_table('sync_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_version', sa.BigInteger(), nullable=True))
    op.execute('UPDATE sync_records SET created_version = version')
    with op.batch_alter_table('sync_records', schema=None) as batch_op:
        batch_op.alter_column('created_version', existing_type=sa.BigInteger(), nullable=False)

    op.create_table('watermelon_invoice_lines',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_watermelon_invoice_lines_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'line_id', name=op.f('pk_watermelon_invoice_lines'))
    )
    with op.batch_alter_table('watermelon_invoice_lines', schema=None) as batch_op:
        batch_op.create_index('ix_watermelon_invoice_lines_invoice', ['organisation_id', 'invoice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('watermelon_invoice_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_watermelon_invoice_lines_invoice')

    op.drop_table('watermelon_invoice_lines')
    with op.batch_alter_table('sync_records', schema=None) as batch_op:
        batch_op.drop_column('created_version')

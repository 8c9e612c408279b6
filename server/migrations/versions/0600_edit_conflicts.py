"""edit merges: forwarding_settings.conflict_policy, edit_conflicts

Revision ID: 0600
Revises: 0800
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types


revision: str = '0600'
down_revision: str | Sequence[str] | None = '0800'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('forwarding_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conflict_policy', sa.String(length=8), server_default='xero', nullable=False))
    op.create_table('edit_conflicts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('upload_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('phone_value', sa.Text(), nullable=False),
    sa.Column('xero_value', sa.Text(), nullable=False),
    sa.Column('resolution', sa.String(length=8), nullable=False),
    sa.Column('created_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', server.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('applied_by', sa.String(length=320), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_edit_conflicts_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_edit_conflicts_upload_id_uploads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edit_conflicts'))
    )
    with op.batch_alter_table('edit_conflicts', schema=None) as batch_op:
        batch_op.create_index('ix_edit_conflicts_organisation_id_id', ['organisation_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('edit_conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_edit_conflicts_organisation_id_id')
    op.drop_table('edit_conflicts')
    with op.batch_alter_table('forwarding_settings', schema=None) as batch_op:
        batch_op.drop_column('conflict_policy')

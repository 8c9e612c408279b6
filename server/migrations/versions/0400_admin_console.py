"""admin console: sign-in lockout, device last seen / last sync

Revision ID: 0400
Revises: 0500
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types


revision: str = '0400'
down_revision: str | Sequence[str] | None = '0500'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', server.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
    sa.UniqueConstraint('email', 'source', name=op.f('uq_sign_in_failures_email_source'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', server.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_sync_at', server.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('last_sync_at')
        batch_op.drop_column('last_seen_at')
    op.drop_table('sign_in_failures')

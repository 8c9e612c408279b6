"""tracking: mirror kinds long enough for tracking categories and options, and branding themes

Revision ID: 1200
Revises: 1100
Create Date: 2026-12-03 09:00:00.000000

The mirror now keeps ``tracking_category`` (17 characters), ``tracking_option`` and
``branding_theme`` records: ``mirror_records.kind`` and ``mirror_cursors.kind`` grow from 16 to 32
characters, as the feed's ``entity`` is already. Nothing else is stored anew: the records are
mirror rows and feed entities like tax rates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '1200'
down_revision: str | Sequence[str] | None = '1100'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('mirror_records', 'mirror_cursors'):
        with op.batch_alter_table(table) as batch:
            batch.alter_column('kind', existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False)


def downgrade() -> None:
    # Rows of the longer kinds would not fit back: they go (the next pull brings them again).
    op.execute(sa.text("DELETE FROM mirror_records WHERE length(kind) > 16"))
    op.execute(sa.text("DELETE FROM mirror_cursors WHERE length(kind) > 16"))
    for table in ('mirror_records', 'mirror_cursors'):
        with op.batch_alter_table(table) as batch:
            batch.alter_column('kind', existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False)

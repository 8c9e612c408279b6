"""update products: the per-organisation choice to send product edits to Xero

Revision ID: 1100
Revises: 1000
Create Date: 2026-12-02 02:30:00.000000

Products are created and edited on phones (``upsert_product``); ``update_products`` off keeps
edits of products already in Xero on the server, as ``update_customers`` does for customers.
Existing organisations get the default (on), as new ones do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '1100'
down_revision: str | Sequence[str] | None = '1000'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('forwarding_settings') as batch:
        batch.add_column(sa.Column('update_products', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('forwarding_settings') as batch:
        batch.drop_column('update_products')

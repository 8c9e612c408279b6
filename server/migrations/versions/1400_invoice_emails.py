"""invoice emails: the per-organisation choice to let phones have Xero email invoices

Revision ID: 1400
Revises: 1300
Create Date: 2026-12-03 14:40:00.000000

Phones may ask that Xero email an invoice to its customer (``email_invoice``); ``email_invoices``
decides whether they may. Off for existing organisations, as for new ones: an email reaches the
business's customers, so an admin turns it on. (Chained after 1200 on this branch; another branch
adds 1300, and the merge re-chains this one after it.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '1400'
down_revision: str | Sequence[str] | None = "1300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('forwarding_settings') as batch:
        batch.add_column(sa.Column('email_invoices', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('forwarding_settings') as batch:
        batch.drop_column('email_invoices')

"""rows keyed within their organisation; interrupted runs; the phone-state index

- ``mirror_records`` is keyed (organisation_id, kind, id) like the feed: two organisations may
  mirror one tenant, and phones of two organisations may choose the same ids. Existing rows keep
  their ids (pulls reuse a row's id), so phones see no change.
- ``xero_connections.tenant_id`` is no longer unique (one tenant may feed several organisations);
  ``xero_user_id`` records who consented (filled on the next token refresh for existing rows).
- ``sync_runs.expires_at``: a running run whose owner stops renewing it is closed as interrupted.
  Runs left running by an earlier version get their start as expiry: nothing renews them now.
- ``uploads (organisation_id, entity, record_id)``: which pulled records a phone uploaded.

Revision ID: 0900
Revises: 0400
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.types


revision: str = '0900'
down_revision: str | Sequence[str] | None = '0400'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mirror_records', schema=None) as batch_op:
        batch_op.drop_constraint('pk_mirror_records', type_='primary')
        batch_op.create_primary_key('pk_mirror_records', ['organisation_id', 'kind', 'id'])

    with op.batch_alter_table('xero_connections', schema=None) as batch_op:
        batch_op.drop_constraint('uq_xero_connections_tenant_id', type_='unique')
        batch_op.create_index('ix_xero_connections_tenant_id', ['tenant_id'], unique=False)
        batch_op.add_column(sa.Column('xero_user_id', sa.String(length=64), server_default='', nullable=False))

    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', server.db.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE sync_runs SET expires_at = started_at WHERE status = 'running'")

    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(
            'ix_uploads_organisation_id_entity_record_id', ['organisation_id', 'entity', 'record_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_uploads_organisation_id_entity_record_id')

    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('xero_connections', schema=None) as batch_op:
        batch_op.drop_column('xero_user_id')
        batch_op.drop_index('ix_xero_connections_tenant_id')
        batch_op.create_unique_constraint('uq_xero_connections_tenant_id', ['tenant_id'])

    with op.batch_alter_table('mirror_records', schema=None) as batch_op:
        batch_op.drop_constraint('pk_mirror_records', type_='primary')
        batch_op.create_primary_key('pk_mirror_records', ['id'])

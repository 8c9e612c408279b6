"""rejection notes per device: upload_rejection rows keyed by (device, record)

Revision ID: 0700
Revises: 0600
Create Date: 2026-12-01 21:30:00.000000

Notes were keyed by record id, so two devices' notes about one record overwrote each other. Each
note is re-keyed to ``sha256(device_id|record_id)`` (``server.core.rejections.note_key``) and
carries its record id; note tombstones (they tell a device nothing) are dropped. Versions stay.
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0700'
down_revision: str | Sequence[str] | None = '0600'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_records = sa.table(
    'sync_records',
    sa.column('organisation_id', sa.Uuid()),
    sa.column('entity', sa.String()),
    sa.column('entity_id', sa.String()),
    sa.column('payload', sa.LargeBinary()),
)


def upgrade() -> None:
    bind = op.get_bind()
    notes = _records.c.entity == 'upload_rejection'
    bind.execute(sa.delete(_records).where(notes, _records.c.payload.is_(None)))
    rows = bind.execute(
        sa.select(_records.c.organisation_id, _records.c.entity_id, _records.c.payload).where(notes)
    ).all()
    for organisation_id, entity_id, payload in rows:
        note = json.loads(bytes(payload))
        if note.get('record_id'):
            continue  # already per device
        note['record_id'] = entity_id
        key = hashlib.sha256(f"{note['device_id']}|{entity_id}".encode()).hexdigest()
        bind.execute(
            sa.update(_records)
            .where(
                _records.c.organisation_id == organisation_id,
                notes,
                _records.c.entity_id == entity_id,
            )
            .values(entity_id=key, payload=json.dumps(note, separators=(',', ':')).encode())
        )


def downgrade() -> None:
    # Back to one note per record: keep any one device's note of each record.
    bind = op.get_bind()
    notes = _records.c.entity == 'upload_rejection'
    rows = bind.execute(
        sa.select(_records.c.organisation_id, _records.c.entity_id, _records.c.payload).where(
            notes, _records.c.payload.is_not(None)
        )
    ).all()
    seen: set[tuple[object, str]] = set()
    for organisation_id, entity_id, payload in rows:
        note = json.loads(bytes(payload))
        record_id = note.pop('record_id', '') or entity_id
        where = (_records.c.organisation_id == organisation_id, notes, _records.c.entity_id == entity_id)
        if (organisation_id, record_id) in seen:
            bind.execute(sa.delete(_records).where(*where))
            continue
        seen.add((organisation_id, record_id))
        bind.execute(
            sa.update(_records)
            .where(*where)
            .values(entity_id=record_id, payload=json.dumps(note, separators=(',', ':')).encode())
        )

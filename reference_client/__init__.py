"""A reference phone: the protocol's worked example, and the simulated phone of tests and benchmarks.

It keeps what a real app keeps: a local SQLite store holding the server's records and cursor, and
a queue of mutations made offline. ``Phone.refresh()`` pulls changes (recovering from
``resync_required`` with a snapshot, keeping the queue); ``Phone.upload()`` pushes the queue and
resends the same mutation ids after a failure, which the server answers idempotently.

This package does I/O (httpx, sqlite3); ``sync_protocol`` stays free of it.
"""

from reference_client.phone import Phone, UploadFailed
from reference_client.store import LocalStore

__all__ = ["LocalStore", "Phone", "UploadFailed"]

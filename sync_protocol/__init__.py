"""ledgersync's phone ⇄ server wire contract: msgspec Structs, no I/O.

A client can ``import sync_protocol`` alone (it needs only msgspec). Money travels as decimal
strings (``"12.50"``), never as JSON numbers; ids are strings; timestamps are RFC 3339 UTC.
See ``docs/protocol.md`` for the messages, the cursor guarantee and the error codes.
"""

from sync_protocol.version import (
    MAX_PROTOCOL_VERSION,
    MIN_PROTOCOL_VERSION,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
)

__all__ = ["MAX_PROTOCOL_VERSION", "MIN_PROTOCOL_VERSION", "PROTOCOL_HEADER", "PROTOCOL_VERSION"]

"""ledgersync's phone ⇄ server wire contract: msgspec Structs, no I/O.

A client can ``import sync_protocol`` alone (it needs only msgspec). Money travels as decimal
strings (``"12.50"``), never as JSON numbers; ids are strings; timestamps are RFC 3339 UTC.
"""

PROTOCOL_VERSION = 1

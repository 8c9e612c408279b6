"""Which protocol versions exist, and how a client says which one it speaks.

Evolution rules (docs/protocol.md, "Evolving the protocol"): within a version, fields are only
added, each with a default; a field's type never changes; entity names, op names and error codes
are never renamed. Anything else is a new protocol version, and the server keeps serving the old
one for as long as ``MIN_PROTOCOL_VERSION`` says.
"""

PROTOCOL_VERSION = 1
MIN_PROTOCOL_VERSION = 1
MAX_PROTOCOL_VERSION = 1

# Every mobile request carries this header with the protocol version the client speaks.
PROTOCOL_HEADER = "X-Ledgersync-Protocol"

"""The HTTP routes phones call (``/mobile/v1``): parse, call a service, encode. See docs/protocol.md."""

"""Bearer secrets handed to people and devices: made random, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str) -> str:
    """A 256-bit random token with a readable prefix (``ls_sess_…``) so leaks are recognisable."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of entropy, so a plain SHA-256 is enough (no slow hash needed).
    return hashlib.sha256(token.encode()).hexdigest()

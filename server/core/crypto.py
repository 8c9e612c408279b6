"""Secrets at rest: AES-256-GCM (cryptography's AEAD) under the key from settings."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class SecretKeyError(ValueError):
    """The configured key is not 32 bytes of urlsafe base64."""


class SecretBox:
    """Encrypts short secrets (tokens) for storage; ``associated`` binds a ciphertext to its row."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretKeyError("the secret key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    @classmethod
    def from_text(cls, text: str) -> SecretBox:
        try:
            key = base64.urlsafe_b64decode(text.strip().encode() + b"==")
        except (binascii.Error, ValueError) as exc:
            raise SecretKeyError("LEDGERSYNC_SECRET_KEY is not urlsafe base64") from exc
        return cls(key)

    def encrypt(self, plaintext: str, associated: str = "") -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), associated.encode())

    def derive(self, purpose: str) -> str:
        """A key of its own for ``purpose`` (hex HMAC-SHA256), so no two uses share the master key."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).hexdigest()

    def decrypt(self, ciphertext: bytes, associated: str = "") -> str:
        try:
            nonce, body = ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:]
            return self._aead.decrypt(nonce, body, associated.encode()).decode()
        except (InvalidTag, ValueError) as exc:  # ValueError: too short to hold a nonce and a tag
            raise SecretKeyError("a stored secret cannot be decrypted with the configured key") from exc


def new_key_text() -> str:
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")


def load_or_create_dev_key(path: Path) -> str:
    """A development key kept beside the demo database, made on first start (mode 0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key_text()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key

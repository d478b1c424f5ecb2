"""Signed, expiring links to evidence files, for channels that fetch files by URL (Zalo)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

__all__ = ["LinkSigner", "load_or_create_secret"]


def load_or_create_secret(path: Path) -> bytes:
    """A random key kept beside the data (mode 600), made on first use."""
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex())
    return key


class LinkSigner:
    def __init__(self, key: bytes, base_url: str) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")

    def _signature(self, sha256: str, expires: int) -> str:
        message = f"{sha256}.{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def token(self, sha256: str, expires: int) -> str:
        return f"{sha256}.{expires}.{self._signature(sha256, expires)}"

    def url(self, sha256: str, expires: int) -> str:
        return f"{self.base_url}/evidence/{self.token(sha256, expires)}"

    def verify(self, token: str, now: int) -> str | None:
        """The file's hash when the token is genuine and not expired; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[0]) != 64:
            return None
        sha256, expires, signature = parts[0], int(parts[1]), parts[2]
        if not hmac.compare_digest(signature, self._signature(sha256, expires)):
            return None
        return sha256 if now < expires else None

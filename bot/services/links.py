"""Signed, expiring links to evidence files, for channels that fetch files by URL (Zalo)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
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


_TOKEN = re.compile(r"([0-9a-f]{64})\.([0-9]{1,12})\.([0-9a-f]{32})", re.ASCII)


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
        """The file's hash when the token is genuine and not expired; None for anything else
        (a malformed token too: "²" passes ``str.isdigit`` but not ``int``, and ``int`` refuses
        strings of more than 4300 digits)."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        sha256, expires, signature = match.group(1), int(match.group(2)), match.group(3)
        if not hmac.compare_digest(signature, self._signature(sha256, expires)):
            return None
        return sha256 if now < expires else None

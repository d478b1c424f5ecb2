"""Evidence files: checked, downloaded from the channel, stored once by content hash."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from bot.engine.ports import Store
from bot.engine.types import FileRef

__all__ = [
    "ACCEPTED_TYPES",
    "BlobSink",
    "EvidenceLimits",
    "EvidenceStore",
    "FetchFailed",
    "Fetcher",
    "NotFound",
    "TooLarge",
    "read_limited",
    "sniff",
]

log = logging.getLogger(__name__)

ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


class FetchFailed(Exception):
    """The channel did not hand the file over (network error, refusal)."""


class TooLarge(FetchFailed):
    """The file is bigger than the limit; the download was stopped."""


class NotFound(FetchFailed):
    """There is no such file (a path typed in the console): the sender's mistake, no fault."""


async def read_limited(chunks: AsyncIterable[bytes], max_bytes: int) -> bytes:
    """A download's chunks joined, stopped with ``TooLarge`` as soon as they pass the limit
    (a declared size can lie; the bytes cannot)."""
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > max_bytes:
            raise TooLarge(f"over {max_bytes} bytes")
    return bytes(data)


# A channel's way to download one file, at most ``max_bytes`` of it.
Fetcher = Callable[[FileRef, int], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class EvidenceLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_files: int = 5  # per indicator
    max_note: int = 500  # characters of a text description


def sniff(data: bytes) -> str | None:
    """The MIME type the content really has, among the accepted ones; None otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


class BlobSink(Protocol):
    def save(self, data: bytes) -> str:
        """Store bytes; their SHA-256, which names them for the outbox."""


class EvidenceStore:
    """Blobs under ``root/ab/cd/<sha256>``; the database describes what each belongs to."""

    def __init__(self, root: Path, limits: EvidenceLimits) -> None:
        self.root = root
        self.limits = limits
        self._fetchers: dict[str, Fetcher] = {}

    def register(self, channel: str, fetcher: Fetcher) -> None:
        self._fetchers[channel] = fetcher

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def receive(self, channel: str, file: FileRef) -> FileRef:
        declared = (file.mime_type or "").lower()
        if file.size is not None and file.size > self.limits.max_bytes:
            return replace(file, problem="too_large")
        if file.kind == "document" and declared and declared not in ACCEPTED_TYPES:
            return replace(file, problem="wrong_type")
        fetcher = self._fetchers.get(channel)
        if fetcher is None:
            return replace(file, problem="download_failed")
        try:
            data = await fetcher(file, self.limits.max_bytes)
        except TooLarge:
            return replace(file, problem="too_large")
        except NotFound:
            return replace(file, problem="not_found")
        except FetchFailed as exc:
            log.warning("evidence download failed on %s: %s", channel, exc)
            return replace(file, problem="download_failed")
        if len(data) > self.limits.max_bytes:
            return replace(file, problem="too_large")
        mime = sniff(data)
        if mime is None:
            return replace(file, problem="wrong_type")
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            created = await asyncio.to_thread(self._write, sha256, data)
        except OSError as exc:  # a full disk, a read-only or missing folder
            log.error("evidence not stored: %s", exc.strerror or type(exc).__name__)
            return replace(file, problem="storage_failed")
        return replace(file, sha256=sha256, size=len(data), mime_type=mime, new_blob=created)

    def save(self, data: bytes) -> str:
        """Store a file the bot made (an export) by its hash; unreferenced, so the clean-up
        removes it once it is older than a link stays valid."""
        sha256 = hashlib.sha256(data).hexdigest()
        self._write(sha256, data)
        return sha256

    def _write(self, sha256: str, data: bytes) -> bool:
        target = self.path(sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return True

    async def settle(self, file: FileRef, store: Store) -> None:
        if not file.new_blob or file.sha256 is None:
            return
        async with store.transaction() as uow:
            in_use = await uow.declarations.blob_in_use(file.sha256)
        if not in_use:
            self.path(file.sha256).unlink(missing_ok=True)

    async def remove_unused(self, hashes: Sequence[str], store: Store) -> int:
        """Remove these stored files at once, those that no record uses any more."""
        async with store.transaction() as uow:
            unused = [sha256 for sha256 in hashes if not await uow.declarations.blob_in_use(sha256)]
        for sha256 in unused:
            await asyncio.to_thread(self.path(sha256).unlink, missing_ok=True)
        return len(unused)

    async def collect_garbage(self, store: Store, min_age_seconds: float = 3600) -> int:
        """Remove stored files no record uses (after a data deletion or a crash)."""
        if not self.root.exists():
            return 0
        async with store.transaction() as uow:
            in_use = await uow.declarations.all_blobs()
        cutoff = time.time() - min_age_seconds
        removed = 0
        for path in self.root.glob("*/*/*"):
            if path.name not in in_use and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

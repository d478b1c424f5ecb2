"""Evidence files: checked, downloaded from the channel, stored once by content hash; and the
files the bot makes for one delivery (``/mydata``'s JSON, a letter, an export), kept only until
they are delivered."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from bot.domain.ports import Store
from bot.domain.validation import visible_text
from bot.engine.ports import OutboxMessage
from bot.engine.types import FileRef

__all__ = [
    "ACCEPTED_TYPES",
    "MAX_FILE_NAME",
    "BlobSink",
    "EvidenceLimits",
    "EvidenceStore",
    "FetchFailed",
    "Fetcher",
    "NotFound",
    "TooLarge",
    "clean_file_name",
    "delivered_once",
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


MAX_FILE_NAME = 128  # characters of a file name as the sender gave it


def clean_file_name(raw: str | None) -> str | None:
    """A file name as a sender's app gave it, cleaned like any text a citizen types: control and
    invisible characters out (PostgreSQL refuses a NUL in text; SQLite would store it), white
    space runs as one space, at most ``MAX_FILE_NAME`` characters with the extension kept;
    None when nothing visible is left."""
    if raw is None:
        return None
    name = visible_text(raw)
    if len(name) > MAX_FILE_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10 and " " not in extension:
            name = f"{stem[: MAX_FILE_NAME - len(extension) - 1].rstrip()}.{extension}"
        else:
            name = name[:MAX_FILE_NAME].rstrip()
    return name or None


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
    def save(self, data: bytes, about: int | None = None) -> str:
        """Keep a file the bot made for one delivery; the name the outbox sends it by.
        ``about``: the citizen it is about (their ``/mydata``, their letter); None for a file
        about many people (an export, a list, a report)."""


def delivered_once(message: OutboxMessage) -> OutboxMessage:
    """``message`` (a ``file_message`` of a file from ``BlobSink.save``) marked as the one
    delivery the file was made for: a sender that hands the file's bytes over removes the file
    once it is delivered."""
    payload = dict(message.payload)
    payload["file"] = {**payload["file"], "once": True}
    return replace(message, payload=payload)


_MADE_NAME = re.compile(r"[0-9a-f]{64}", re.ASCII)
_TEMP_GRACE = 60.0  # seconds a half-written file may be in the middle of its write


class EvidenceStore:
    """Evidence blobs under ``root/ab/cd/<sha256>``; the database describes what each belongs
    to. Files the bot makes (``save``) go to ``root/outgoing/``, each under a name of its own
    (64 hex digits, as links need): the first 16 the citizen it is about (0: many people), the
    rest random, so that two identical exports never share a file that one delivery removes."""

    OUTGOING = "outgoing"

    def __init__(self, root: Path, limits: EvidenceLimits) -> None:
        self.root = root
        self.limits = limits
        self._fetchers: dict[str, Fetcher] = {}

    def register(self, channel: str, fetcher: Fetcher) -> None:
        self._fetchers[channel] = fetcher

    @property
    def outgoing(self) -> Path:
        return self.root / self.OUTGOING

    def path(self, sha256: str) -> Path:
        """Where the file of this name is: a file the bot made, else an evidence blob."""
        if _MADE_NAME.fullmatch(sha256):
            made = self.outgoing / sha256
            if made.exists():
                return made
        return self._blob(sha256)

    def _blob(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def receive(self, channel: str, file: FileRef) -> FileRef:
        file = replace(file, name=clean_file_name(file.name))  # every channel's, the console's too
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

    def save(self, data: bytes, about: int | None = None) -> str:
        """Keep a file the bot made for one delivery (written and flushed to disk before the
        transaction that queues its message commits, so that a crash loses no delivery). It
        goes when a sender has handed its bytes over (``delivered_once``); otherwise (a link
        that must stay valid, a delivery that failed) with the erasure of the citizen it is
        about or of anyone when it is about many (``forget_made``), or at the clean-up once it
        is older than a link stays valid (``collect_garbage``)."""
        name = f"{about or 0:016x}{secrets.token_hex(24)}"
        self._store(self.outgoing / name, data)
        return name

    def _write(self, sha256: str, data: bytes) -> bool:
        target = self._blob(sha256)
        if target.exists():
            return False
        self._store(target, data)
        return True

    @staticmethod
    def _store(target: Path, data: bytes) -> None:
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

    async def settle(self, file: FileRef, store: Store) -> None:
        if not file.new_blob or file.sha256 is None:
            return
        async with store.transaction() as uow:
            in_use = await uow.declarations.blob_in_use(file.sha256)
        if not in_use:
            self._blob(file.sha256).unlink(missing_ok=True)

    async def remove_unused(self, hashes: Sequence[str], store: Store) -> int:
        """After an erasure has committed: remove these evidence files at once, those that no
        record uses any more, and the files the bot made that may hold the erased citizen
        (``forget_made``)."""
        async with store.transaction() as uow:
            unused = [sha256 for sha256 in hashes if not await uow.declarations.blob_in_use(sha256)]
        for sha256 in unused:
            await asyncio.to_thread(self._blob(sha256).unlink, missing_ok=True)
        return len(unused) + await self.forget_made(store)

    async def forget_made(self, store: Store, older_than: float | None = None) -> int:
        """Remove the files the bot made that no one may have any more. After an erasure
        (``older_than`` None): those about a citizen who no longer exists, and every file about
        many people (an export made before the erasure holds the erased citizen's row; whoever
        needs it asks again). At the clean-up: those about a citizen who no longer exists (an
        erasure the process did not finish), and any older than ``older_than`` seconds."""
        if not self.outgoing.is_dir():
            return 0
        files = await asyncio.to_thread(lambda: [p for p in self.outgoing.iterdir() if p.is_file()])
        about = {p: int(p.name[:16], 16) for p in files if _MADE_NAME.fullmatch(p.name)}
        async with store.transaction() as uow:
            present = {
                citizen_id
                for citizen_id in set(about.values()) - {0}
                if await uow.citizens.get(citizen_id) is not None
            }
        now = time.time()
        removed = 0
        for path in files:
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:  # delivered meanwhile
                continue
            subject = about.get(path)
            if subject is None:  # half-written: being written now, or left by a crash
                remove = age >= (_TEMP_GRACE if older_than is None else older_than)
            elif subject == 0:  # about many people
                remove = older_than is None or age >= older_than
            else:
                remove = subject not in present or (older_than is not None and age >= older_than)
            if remove:
                await asyncio.to_thread(path.unlink, missing_ok=True)
                removed += 1
        return removed

    async def collect_garbage(self, store: Store, min_age_seconds: float = 3600) -> int:
        """Remove stored files no record uses (after a data deletion or a crash), and the
        files the bot made once they are older than ``min_age_seconds`` (as long as a link
        stays valid) or their citizen is gone."""
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
        return removed + await self.forget_made(store, older_than=min_age_seconds)

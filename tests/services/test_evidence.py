"""The evidence store: type and size checks, content addressing, clean-up."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from bot.app import App
from bot.engine import FileRef
from bot.services.evidence import EvidenceLimits, EvidenceStore, FetchFailed, TooLarge, sniff
from tests.chat import Chat, register

JPEG = b"\xff\xd8\xff\xe0" + b"photo-bytes" * 10
PNG = b"\x89PNG\r\n\x1a\n" + b"png"
PDF = b"%PDF-1.7\n" + b"doc"
HEIC = b"\x00\x00\x00\x18ftypheic" + b"x" * 8
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 "


def test_sniff_knows_the_accepted_types_only() -> None:
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(PNG) == "image/png"
    assert sniff(PDF) == "application/pdf"
    assert sniff(HEIC) == "image/heic"
    assert sniff(WEBP) == "image/webp"
    assert sniff(b"PK\x03\x04 a zip or docx") is None
    assert sniff(b"") is None


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    store = EvidenceStore(tmp_path / "evidence", EvidenceLimits(max_bytes=1000))
    content = {"photo-1": JPEG, "doc-1": PDF, "zip-1": b"PK\x03\x04", "big": b"\xff\xd8\xff" * 500}

    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        if file.file_id == "broken":
            raise FetchFailed("connection reset")
        data = content[file.file_id]
        if len(data) > max_bytes:
            raise TooLarge(file.file_id)
        return data

    store.register("test", fetch)
    return store


async def test_a_file_is_stored_once_by_its_hash(store: EvidenceStore) -> None:
    first = await store.receive("test", FileRef("photo-1", "photo"))
    assert first.problem is None
    assert first.sha256 is not None
    assert first.new_blob
    assert first.mime_type == "image/jpeg"
    assert store.path(first.sha256).read_bytes() == JPEG
    again = await store.receive("test", FileRef("photo-1", "photo"))
    assert again.sha256 == first.sha256
    assert not again.new_blob
    assert len(list(store.root.rglob("*"))) == 3  # two folder levels and one file


async def test_refusals_store_nothing(store: EvidenceStore) -> None:
    cases = [
        (FileRef("big", "photo"), "too_large"),
        (FileRef("doc-1", "document", "application/pdf", size=5000), "too_large"),
        (FileRef("zip-1", "document", "application/zip"), "wrong_type"),
        (FileRef("zip-1", "document", "application/pdf"), "wrong_type"),  # lies about its type
        (FileRef("broken", "photo"), "download_failed"),
    ]
    for file, problem in cases:
        result = await store.receive("test", file)
        assert result.problem == problem, file
        assert result.sha256 is None
    assert (await store.receive("other-channel", FileRef("doc-1", "document"))).problem == (
        "download_failed"
    )
    assert not store.root.exists() or not [p for p in store.root.rglob("*") if p.is_file()]


async def test_a_full_disk_is_told_in_plain_words_and_stores_nothing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return JPEG

    app.evidence.register("test", fetch)
    chat = Chat(app.engine, user="citizen")
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("8")

    def full(self: EvidenceStore, sha256: str, data: bytes) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(EvidenceStore, "_write", full)
    await chat.send_file(FileRef("p1", "photo", "image/jpeg"))
    chat.expect("chưa lưu được tệp", "Minh chứng cho chỉ số 1")
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        assert await uow.declarations.evidence(declaration.id) == []
    monkeypatch.undo()
    await chat.send_file(FileRef("p1", "photo", "image/jpeg"))
    chat.expect("Đã nhận tệp (1/5)")

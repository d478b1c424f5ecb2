"""Erasure reaches the files the bot makes: ``/mydata``'s JSON, the letter's PDF, a
coordinator's export (Excel and CSV) and list. Each is kept only until it is delivered when the
channel uploads it (Telegram); a channel that sends a link to it (Zalo) or its path (the
console) leaves it until the clean-up, and the citizen's erasure removes every one that may
hold them, delivered or still waiting. Afterwards no file under the data folder (the evidence
folder included; the database's own files are searched by tests/flows/test_erasure.py) holds
the citizen's name or phone, on both backends."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader

from bot.app import App
from bot.engine import FileRef, Reply
from bot.services.outbox import OutgoingFile
from tests.chat import Chat, answer_until
from tests.verification_helpers import RecordingDeliverer, coordinator, declaration_id, sender

NAME = "Đinh Thị Quỳnh Trâm"
PHONE = "0913 654 321"
PHONE_FORMS = ("+84913654321", "0913 654 321", "0913654321", "913 654 321", "913654321")
PHOTO = b"\xff\xd8\xff\xe0" + b"a certificate photo " * 30


def readable(path: Path) -> list[str]:
    """What a file says, as its reader sees it: an Excel file's XML parts, a PDF's text, any
    other file's bytes as UTF-8 (and JSON's escapes undone)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return [book.read(part).decode("utf-8", "replace") for part in book.namelist()]
    if data.startswith(b"%PDF-"):
        return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    text = data.decode("utf-8", "replace")
    texts = [text]
    if text.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            texts.append(json.dumps(json.loads(text), ensure_ascii=False))
    return texts


def holding(app: App) -> dict[str, list[str]]:
    """Every file under the data folder, but the database's, that holds the name or phone."""
    database = app.store.engine.url.database or ""
    skipped = {Path(database).name + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    found: dict[str, list[str]] = {}
    for path in sorted(app.settings.data_dir.rglob("*")):
        if not path.is_file() or path.name in skipped:
            continue
        texts = readable(path)
        what = [
            label
            for label, forms in (("name", (NAME,)), ("phone", PHONE_FORMS))
            if any(form in text for text in texts for form in forms)
        ]
        if what:
            found[str(path.relative_to(app.settings.data_dir))] = what
    return found


@dataclass
class UploadingDeliverer:
    """A channel that uploads a file's bytes, as Telegram does (read at the moment of sending)."""

    name: str = "test"
    uploads: bool = True
    sent: list[tuple[str, str, bytes]] = field(default_factory=list)  # (to, name, bytes)

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        if file is not None:
            self.sent.append((external_id, file.name, file.path.read_bytes()))


async def recognised_citizen(app: App, with_photo: bool = False) -> tuple[Chat, Chat]:
    """A citizen of Phường Lê Chân whose declaration (9 on every indicator) the ward's
    coordinator approved; the coordinator's chat and the citizen's."""

    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return PHOTO

    app.evidence.register("test", fetch)
    coord = await coordinator(app, "coord", name="Vũ Thị Mai")
    citizen = Chat(app.engine, user="tram")
    await answer_until(citizen, None, full_name=NAME, phone=PHONE)
    citizen.expect("đăng ký thành công")
    await citizen.send("/declare")
    await citizen.press("begin")
    await citizen.send("9")
    if with_photo:
        await citizen.send_file(FileRef("p1", "photo", "image/jpeg", name="chung-chi.jpg"))
        citizen.expect("Đã nhận tệp")
        await citizen.press("done")
    else:
        await citizen.press("none")
    for _ in range(2, 11):
        await citizen.send("9")
        await citizen.press("none")
    await citizen.press("submit")
    citizen.expect("Đã nộp")
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    if with_photo:
        await coord.press("walk")  # the photo is sent to the coordinator's chat
        coord.expect("Chỉ số 1/10", "Tệp minh chứng: 1")
        await coord.press("decide")
    await coord.press("approve")
    await coord.press("confirm")
    coord.expect("Đã ghi kết quả", "đề nghị công nhận")
    return coord, citizen


async def ask_for_every_file(citizen: Chat, coord: Chat) -> None:
    await citizen.send("/mydata")
    citizen.expect("Dữ liệu cá nhân đang được lưu", "Tệp JSON đầy đủ")
    await citizen.send("/giayxacnhan")
    citizen.expect("Giấy xác nhận")
    await coord.send("/export")
    coord.expect("Đang chuẩn bị tệp dữ liệu (1 dòng)")
    await coord.send("/export csv")
    coord.expect("Đang chuẩn bị tệp dữ liệu (1 dòng)")
    await coord.send("/proposed")
    coord.expect(NAME)


async def delete_my_data(citizen: Chat) -> None:
    await citizen.send("/profile")
    await citizen.press("delete")
    await citizen.press("delete")
    citizen.expect("Đã xóa toàn bộ dữ liệu")


async def test_after_an_erasure_no_file_holds_the_citizen(any_app: App) -> None:
    app = any_app
    coord, citizen = await recognised_citizen(app)
    await ask_for_every_file(citizen, coord)
    # delivered by link (as on Zalo) or by path (the console): the files stay for the link
    links = RecordingDeliverer()
    await sender(app, links).flush()
    kinds = sorted(d.file.name.rsplit(".", 1)[-1] for d in links.sent if d.file is not None)
    assert kinds == ["csv", "json", "pdf", "xlsx", "xlsx"]
    # the search finds what is there: each of the five files holds the citizen
    found = holding(app)
    # (the letter names the citizen; the JSON, both exports and the list give the phone too)
    assert sorted(found.values()) == [["name"]] + [["name", "phone"]] * 4, found
    # and more asked for that is not delivered yet when the citizen deletes their data
    await citizen.send("/mydata")
    await coord.send("/export")

    await delete_my_data(citizen)

    assert holding(app) == {}
    late = RecordingDeliverer()
    await sender(app, late).flush()
    assert not any(d.external_id == "tram" for d in late.sent)  # nothing more to them


async def test_a_file_made_for_one_delivery_is_gone_once_delivered(any_app: App) -> None:
    app = any_app
    coord, citizen = await recognised_citizen(app, with_photo=True)
    await ask_for_every_file(citizen, coord)
    assert len(holding(app)) == 5  # written before the reply's commit: a crash loses none
    channel = UploadingDeliverer()
    await app.outbox_sender(channel).flush()

    names = {(to, name.rsplit(".", 1)[-1]) for to, name, _ in channel.sent}
    assert names == {("tram", "json"), ("tram", "pdf"), ("coord", "xlsx"), ("coord", "csv"),
                     ("coord", "jpg")}  # fmt: skip
    (mydata,) = [data for to, name, data in channel.sent if name.endswith(".json")]
    assert NAME in json.dumps(json.loads(mydata), ensure_ascii=False)  # delivered whole
    assert holding(app) == {}  # gone once delivered, not a day later
    assert list((app.evidence.root / "outgoing").iterdir()) == []
    # the evidence photo sent to the coordinator is the citizen's record: it stays
    number = await declaration_id(app)
    async with app.store.transaction() as uow:
        (evidence,) = await uow.declarations.evidence(number)
    assert app.evidence.path(evidence.sha256).read_bytes() == PHOTO

"""Delete-my-data deletes: afterwards no table, no byte of the SQLite file (nor its write-ahead
log) and no evidence file holds the citizen's name, phone, note or file, on both backends; a
coordinator who had their declaration open is told it was withdrawn."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.app import App
from bot.domain.usecases.broadcasts import audience, create_broadcast
from bot.engine import FileRef
from storage.models import metadata
from tests.chat import Chat, answer_until
from tests.verification_helpers import RecordingDeliverer, coordinator, sender

NAME = "Hoàng Thị Xoan"
NOTE = "Tham gia lớp tin học người cao tuổi ở nhà văn hoá"
PHOTO = b"\xff\xd8\xff\xe0" + b"unique evidence of Hoang Thi Xoan " * 40
ACCOUNT = "citizen-xoan"


def needles(sha256: str) -> dict[str, list[bytes]]:
    """Each secret as the bytes it may be stored as (UTF-8, or JSON with \\u escapes)."""
    found = {}
    for label, value in {
        "name": NAME,
        "note": NOTE,
        "phone": "+84912777888",
        "sha256": sha256,
        "account": ACCOUNT,
    }.items():
        found[label] = [value.encode(), json.dumps(value).strip('"').encode()]
    return found


async def rows_holding(app: App, sha256: str) -> list[str]:
    holding = []
    async with app.store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                cell = " ".join(str(value) for value in row)
                for label, forms in needles(sha256).items():
                    if any(form.decode() in cell for form in forms):
                        holding.append(f"{table.name}: {label}")
    return holding


async def test_delete_my_data_leaves_nothing_behind(any_app: App, tmp_path: Path) -> None:
    app = any_app

    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return PHOTO

    app.evidence.register("test", fetch)
    coord = await coordinator(app, "coord")
    citizen = Chat(app.engine, user=ACCOUNT)
    await answer_until(citizen, None, full_name=NAME, phone="0912 777 888")
    citizen.expect("đăng ký thành công")
    await citizen.send("/declare")
    await citizen.press("begin")
    await citizen.send("9")
    await citizen.send_file(FileRef("p1", "photo", "image/jpeg", name="xoan-certificate.jpg"))
    await citizen.send(NOTE)
    await citizen.press("done")
    for _ in range(2, 11):
        await citizen.send("9")
        await citizen.press("none")
    await citizen.press("submit")
    citizen.expect("Đã nộp")
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        (evidence,) = await uow.declarations.evidence(declaration.id)
        await create_broadcast(
            uow, "Thư mời sinh hoạt", audience(), "test", datetime.now(UTC)
        )  # a broadcast queued to everyone, the citizen among them
    sha256 = evidence.sha256
    assert app.evidence.path(sha256).exists()
    # the coordinator opens the declaration: their conversation holds name, note and file
    await coord.send(f"/review {declaration.id}")
    await coord.press("walk")
    coord.expect("Chỉ số 1/10", NOTE)
    assert await rows_holding(app, sha256)  # the search finds what is there

    await citizen.send("/profile")
    await citizen.press("delete")
    await citizen.press("delete")
    citizen.expect("Đã xóa toàn bộ dữ liệu")

    assert await rows_holding(app, sha256) == []
    assert not app.evidence.path(sha256).exists()  # at once, not at the next restart
    for path in (app.settings.data_dir / "evidence").rglob("*"):
        assert not path.is_file() or path.read_bytes() != PHOTO
    if app.store.engine.dialect.name == "sqlite":
        files = [Path(str(app.store.engine.url.database))]
        files += [files[0].with_name(files[0].name + "-wal")]
        for path in files:
            data = path.read_bytes() if path.exists() else b""
            for label, forms in needles(sha256).items():
                for form in forms:
                    at = data.find(form)
                    assert at < 0, (
                        f"{path.name} holds the {label}: {data[max(0, at - 200) : at + 60]!r}"
                    )
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    told = [d.text for d in deliverer.to("coord") if "đã được người khai rút lại" in d.text]
    assert told == [told[0]] and f"#{declaration.id}" in told[0]
    assert not any(d.external_id == ACCOUNT for d in deliverer.sent)  # nothing more to them
    await coord.press("next")  # the old review is gone: a press changes nothing
    async with app.store.transaction() as uow:
        assert await uow.declarations.list() == []

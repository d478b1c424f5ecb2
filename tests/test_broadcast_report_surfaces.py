"""A broadcast's delivery report on its three surfaces — the web console's page, the chat's
``/broadcast report ID``, the command line's ``cdht broadcast report ID`` (through
``bot.__main__.main``, as a shell runs it) — on SQLite and on PostgreSQL, where the report's
query was refused (issue 18, item 1: «column "outbox.last_error" must appear in the GROUP BY
clause»; the page answered 500, the chat the system-error reply, the command exit 1).

Five recipients: one message sent, one refused because the account blocked the bot, one
refused for another reason, one still waiting, and one the sender withdrew because the
broadcast was cancelled while it was on its way (it records that as a failure «cancelled»:
the report counts it as cancelled, not as an error)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import App
from bot.domain.records import NewCitizen
from bot.domain.usecases.broadcasts import audience, create_broadcast
from tests.chat import Chat
from tests.conftest import make_settings, started_app
from tests.handlers.web_console.http_helpers import page_text, served, sign_in

ADMIN = "telegram:900"
PERSON = NewCitizen(
    full_name="Người Dân", birth_year=1970, gender=None, phone="+84912345678", group=1,
    ward_code="11383", ward_name="Phường Lê Chân", ward_data_version="test",
    residential_group="Tổ 1", workplace=None, guardian_consent=None, channel="telegram",
    locale="vi",
)  # fmt: skip


async def delivered_in_part(app: App) -> int:
    """The broadcast, and what became of each of its five messages."""
    now = datetime.now(UTC)
    async with app.store.transaction() as uow:
        for user in ("201", "202", "203", "204", "205"):
            citizen = await uow.citizens.create(replace(PERSON, full_name=f"Người {user}"), now)
            identity = await uow.identities.create("telegram", user, "vi")
            await uow.identities.bind(identity.id, citizen.id)
        created = await create_broadcast(uow, "Ngày hội học tập", audience(), ADMIN, now)
        rows = {r.message.external_id: r.id for r in await uow.outbox.due("telegram", now, 10)}
        await uow.outbox.mark_sent(rows["201"], now)
        await uow.outbox.fail(rows["202"], "Unreachable: Forbidden: bot was blocked by the user")
        await uow.outbox.fail(rows["204"], "Rejected: Bad Request: chat not found")
        await uow.outbox.fail(rows["205"], "cancelled")  # as bot/services/outbox.py records it
    return created.id


async def test_the_web_consoles_page(tmp_path: Path, database_url: str) -> None:
    async with served(tmp_path, database_url, admins=ADMIN) as web:
        number = await delivered_in_part(web.app)
        await sign_in(web, ADMIN)
        response = await web.client.get(f"/console/broadcasts/{number}")
        assert response.status == 200
        page = page_text(await response.text())
    assert f"Tin thông báo #{number}" in page
    assert "Trạng thái: đang gửi" in page
    assert "Số người nhận: 5" in page
    assert "Đã gửi 1 Gửi lỗi 1 Đã chặn bot 1 Đang chờ gửi 1 Đã hủy 1" in page  # one per line


@pytest.fixture
async def admins_app(tmp_path: Path, database_url: str) -> AsyncIterator[App]:
    app = await started_app(make_settings(tmp_path, database_url=database_url, admins=ADMIN))
    yield app
    await app.close()


async def test_the_chats_broadcast_report(admins_app: App) -> None:
    number = await delivered_in_part(admins_app)
    admin = Chat(admins_app.engine, user="900", channel="telegram")
    await admin.send(f"/broadcast report {number}")
    # in words, the state too (not `queued`)
    admin.expect(
        f"Tin #{number} (đang gửi): 5 người nhận — đã gửi 1, đang chờ 1, lỗi 1, "
        "đã chặn bot 1, đã hủy 1."
    )
    await admin.send(f"/broadcast report #{number + 1}")
    admin.expect(f"Không có tin thông báo #{number + 1} (hoặc")
    await admin.send("/broadcast report 99999999999999999999")  # no such number, anywhere
    admin.expect("/broadcast report <số> để xem kết quả gửi")


async def test_the_command_line(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    app = await started_app(make_settings(tmp_path, database_url=database_url))
    try:
        number = await delivered_in_part(app)
    finally:
        await app.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDHT_DATABASE_URL", database_url)
    # as the shell runs it: `main` runs its own event loop, hence a thread here
    assert await asyncio.to_thread(main, ["broadcast", "report", str(number)]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [
        f"broadcast {number} (queued), recipients 5: "
        "sent 1, failed 1, blocked 1, pending 1, cancelled 1",
        "11383\tPhường Lê Chân\tsent 1, failed 1, blocked 1, pending 1, cancelled 1",  # its unit
    ]
    assert printed.err == ""

"""Who a broadcast missed, on both databases: eight citizens in two wards, the channel failing
for six of them in the ways the live platforms do (blocked, a chat gone, outside a Zalo OA's
window, the template quota, a 429, a bad request). The report counts each reason, in all and
for each ward (the command line, the Excel file read back against the report itself, the
chat); ``cdht broadcast resend`` counts exactly the four a resend can reach, changes nothing
without ``--yes``, and with it sends to exactly them, once."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from bot.__main__ import main
from bot.app import App
from bot.domain.records import NewCitizen
from bot.domain.usecases.broadcasts import audience, create_broadcast
from bot.engine import Reply
from bot.services.outbox import DeliveryError, OutgoingFile, RateLimited, Rejected, Unreachable
from tests.chat import Chat
from tests.conftest import make_settings, started_app
from tests.handlers.web_console.http_helpers import csrf, page_text, served, sign_in

ADMIN = "telegram:900"
LE_CHAN, HONG_BANG = "11383", "11311"
PERSON = NewCitizen(
    full_name="Người Dân", birth_year=1970, gender=None, phone="+84912345678", group=1,
    ward_code=LE_CHAN, ward_name="Phường Lê Chân", ward_data_version="test",
    residential_group="Tổ 1", workplace=None, guardian_consent=None, channel="telegram",
    locale="vi",
)  # fmt: skip
# each recipient's ward, and what the channel answers it (None: delivered); the words are the
# platforms' own: Telegram's 403 and 400 descriptions (core.telegram.org/bots/api, «Making
# requests»; «bot was blocked by the user» is what it sends), a Zalo OA's refusal outside the
# 7-day window as bot/handlers/zalo_oa/channel.py raises it, a template refused for its quota
FATES: dict[str, tuple[str, DeliveryError | None]] = {
    "301": (LE_CHAN, None),
    "302": (LE_CHAN, Unreachable("Forbidden: bot was blocked by the user")),
    "303": (LE_CHAN, Unreachable("Bad Request: chat not found")),
    "304": (LE_CHAN, Rejected("not in window: no template configured")),
    "305": (HONG_BANG, Rejected("template: monthly quota exceeded")),
    "306": (HONG_BANG, RateLimited(3600)),
    "307": (HONG_BANG, Rejected("Bad Request: message is too long")),
    "308": (HONG_BANG, None),
}
MISSED = {"303", "304", "305", "307"}  # a resend may reach them; not the blocked, not the 429


@dataclass
class Platform:
    """The channel's delivery end: fails each recipient as ``FATES`` says until ``healed``."""

    name: str = "telegram"
    healed: bool = False
    delivered: list[str] = field(default_factory=list)

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        failure = FATES[external_id][1]
        if failure is not None and not self.healed:
            raise failure
        self.delivered.append(external_id)


async def broadcast_with_failures(app: App) -> int:
    now = datetime.now(UTC)
    async with app.store.transaction() as uow:
        for user, (ward, _) in FATES.items():
            person = replace(PERSON, full_name=f"Người {user}", ward_code=ward)
            citizen = await uow.citizens.create(person, now)
            identity = await uow.identities.create("telegram", user, "vi")
            await uow.identities.bind(identity.id, citizen.id)
        created = await create_broadcast(uow, "Ngày hội học tập", audience(), ADMIN, now)
    platform = Platform()
    await app.outbox_sender(platform).flush()
    assert sorted(platform.delivered) == ["301", "308"]
    return created.id


def cli(args: list[str]) -> int:
    return main(args)


async def test_the_report_counts_each_reason_and_resend_reaches_exactly_the_missed(
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = await started_app(make_settings(tmp_path, database_url=database_url, admins=ADMIN))
    try:
        number = await broadcast_with_failures(app)
        async with app.store.transaction() as uow:
            report = await uow.broadcasts.report(number)
            by_ward = await uow.broadcasts.report_by_ward(number)
        assert report == {
            "sent": 2, "failed": 1, "blocked": 1, "pending": 0, "cancelled": 0,
            "unreachable": 1, "not_in_window": 1, "template_quota": 1, "rate_limited": 1,
        }  # fmt: skip
        assert by_ward == {
            LE_CHAN: {"sent": 1, "blocked": 1, "unreachable": 1, "not_in_window": 1},
            HONG_BANG: {"sent": 1, "template_quota": 1, "rate_limited": 1, "failed": 1},
        }
        admin = Chat(app.engine, user="900", channel="telegram")
        await admin.send(f"/broadcast report {number}")
        admin.expect(
            "đã gửi 2, đang chờ 0, lỗi 1, đã chặn bot 1",
            "Không liên lạc được (tài khoản không còn, không còn quan tâm trang): 1",
            "Đang chờ do nền tảng giới hạn tốc độ gửi: 1",
            "Hết hạn mức tin mẫu có phí: 1",
        )
    finally:
        await app.close()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDHT_DATABASE_URL", database_url)
    book = tmp_path / "delivery.xlsx"
    assert (
        await asyncio.to_thread(cli, ["broadcast", "report", str(number), "--xlsx", str(book)]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [  # the units in Vietnamese order, each with the states it has
        f"{HONG_BANG}\tPhường Hồng Bàng\tsent 1, failed 1, rate_limited 1, template_quota 1",
        f"{LE_CHAN}\tPhường Lê Chân\tsent 1, blocked 1, not_in_window 1, unreachable 1",
    ]
    # the Excel file against the report: each unit's row, each state's column, the totals
    sheet = openpyxl.load_workbook(book).active
    rows = [[c.value for c in row] for row in sheet.iter_rows() if row[0].value]
    (header_at,) = [i for i, row in enumerate(rows) if row[0] == "Phường/xã"]
    header = rows[header_at]
    states = list(report)
    assert header[1:-1] == [
        "Đã gửi", "Gửi lỗi", "Đã chặn bot", "Đang chờ gửi", "Đã hủy",
        "Không gửi được: quá 7 ngày chưa nhắn trang Zalo của phường, chưa có mẫu tin",
        "Không liên lạc được (tài khoản không còn, không còn quan tâm trang)",
        "Đang chờ do nền tảng giới hạn tốc độ gửi", "Hết hạn mức tin mẫu có phí",
    ]  # fmt: skip
    table = {row[0]: dict(zip(states, row[1:-1], strict=True)) for row in rows[header_at + 1 :]}
    assert {k: v for k, v in table["Phường Lê Chân"].items() if v} == by_ward[LE_CHAN]
    assert {k: v for k, v in table["Phường Hồng Bàng"].items() if v} == by_ward[HONG_BANG]
    assert table["Toàn bộ"] == report

    assert await asyncio.to_thread(cli, ["broadcast", "resend", str(number)]) == 0
    assert capsys.readouterr().out == (
        f"broadcast {number}: 4 did not receive it (unreachable 1, not_in_window 1, "
        "template_quota 1, failed 1); run again with --yes to send to exactly them\n"
    )
    assert await asyncio.to_thread(cli, ["broadcast", "resend", str(number), "--yes"]) == 0
    assert capsys.readouterr().out == (
        f"broadcast {number}: sending again to 4 (unreachable 1, not_in_window 1, "
        "template_quota 1, failed 1)\n"
    )

    app = await started_app(make_settings(tmp_path, database_url=database_url, admins=ADMIN))
    try:
        platform = Platform(healed=True)  # now every recipient could be reached
        await app.outbox_sender(platform).flush()
        assert sorted(platform.delivered) == sorted(MISSED)  # exactly the missed, once each
        await app.outbox_sender(platform).flush()
        assert sorted(platform.delivered) == sorted(MISSED)
        async with app.store.transaction() as uow:
            after = await uow.broadcasts.report(number)
        assert (after["sent"], after["blocked"], after["rate_limited"]) == (6, 1, 1)
        assert [after.get(k, 0) for k in ("failed", "unreachable", "not_in_window")] == [0, 0, 0]
    finally:
        await app.close()
    assert await asyncio.to_thread(cli, ["broadcast", "resend", str(number)]) == 0
    assert "everyone it could reach has it or is still waiting" in capsys.readouterr().out


async def test_the_web_console_offers_the_resend_with_its_count_and_the_units_file(
    tmp_path: Path, database_url: str
) -> None:
    async with served(tmp_path, database_url, admins=ADMIN) as web:
        number = await broadcast_with_failures(web.app)
        await sign_in(web, ADMIN)
        page = await (await web.client.get(f"/console/broadcasts/{number}")).text()
        assert "Gửi lại cho 4 người chưa nhận được" in page_text(page)  # counted before sending
        file = await web.client.get(f"/console/broadcasts/{number}/delivery.xlsx")
        assert file.status == 200 and file.headers["Cache-Control"] == "private, no-store"
        sheet = openpyxl.load_workbook(io.BytesIO(await file.read())).active
        names = [row[0].value for row in sheet.iter_rows()]
        assert (
            names.index("Phường Hồng Bàng") < names.index("Phường Lê Chân") < names.index("Toàn bộ")
        )
        token = await csrf(web)
        forged = await web.client.post(f"/console/broadcasts/{number}/resend", data={})
        assert forged.status == 403  # no CSRF token: nothing sent again
        response = await web.client.post(
            f"/console/broadcasts/{number}/resend", data={"csrf": token}, allow_redirects=False
        )
        assert response.status == 303
        async with web.app.store.transaction() as uow:
            report = await uow.broadcasts.report(number)
        assert report["pending"] == 4 and report["blocked"] == 1 and report["rate_limited"] == 1
        page = await (await web.client.get(f"/console/broadcasts/{number}")).text()
        assert "Gửi lại cho" not in page  # nobody left to send again to

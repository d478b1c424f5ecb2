"""One process serving Telegram and Zalo: a citizen on Zalo recognised by a coordinator on
Telegram, and a citizen on Telegram reviewed by a coordinator on Zalo (files by signed link)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import Settings
from tests.bots import start_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.handlers.telegram.test_telegram_declaration import JPEG as TELEGRAM_JPEG
from tests.handlers.telegram.test_telegram_declaration import register as register_on_telegram
from tests.handlers.zalo.conftest import ZConverse
from tests.handlers.zalo.test_zalo import CITIZEN, declare_on_zalo, register_on_zalo
from tests.verification_helpers import invite

TELEGRAM_COORDINATOR = 901
ZALO_COORDINATOR = "zalo-coord-9"
TELEGRAM_CITIZEN = 555002  # the user of test_telegram_declaration.register


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_zalo_citizen_is_recognised_by_a_telegram_coordinator(
    settings: Settings, fake: FakeTelegram, zalo: FakeZalo, zsay: ZConverse
) -> None:
    running = await start_bot(settings, telegram=fake, zalo=zalo)
    try:
        assert sorted(running.channels) == ["telegram", "zalo"]
        fake_user = TELEGRAM_COORDINATOR
        await fake.send_text(fake_user, f"/coordinator {await invite(running.app)}")
        await fake.wait_for(lambda: any("Lê Chân" in p["text"] for p in fake.sent(fake_user)))
        await fake.send_text(fake_user, "Nguyễn Văn Cừ, cán bộ phường Lê Chân")
        await fake.wait_for(lambda: any("Số điện thoại" in p["text"] for p in fake.sent(fake_user)))
        await fake.press(fake_user, "Bỏ qua")
        await fake.wait_for(lambda: any("Đã lưu" in p["text"] for p in fake.sent(fake_user)))
        await register_on_zalo(zalo, zsay)
        await declare_on_zalo(zalo, zsay)
        await fake.wait_for(lambda: any("Hồ sơ mới" in p["text"] for p in fake.sent(fake_user)))
        await fake.press(fake_user, "Xem xét")
        await fake.wait_for(lambda: any("lần xem xét 1" in p["text"] for p in fake.sent(fake_user)))
        await fake.press(fake_user, "Xem từng chỉ số")
        await fake.wait_for(lambda: bool(fake.calls_of("sendPhoto")))  # the Zalo photo, on Telegram
        await fake.press(fake_user, "Đến phần quyết định")
        await fake.wait_for(lambda: any("thế nào" in p["text"] for p in fake.sent(fake_user)))
        approve = next(
            b["text"]
            for row in fake.last_with_buttons(fake_user)["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"].startswith("Xác nhận kết quả: Đạt")
        )
        await fake.press(fake_user, approve)
        await fake.wait_for(
            lambda: any("đề nghị công nhận?" in p["text"] for p in fake.sent(fake_user))
        )
        await fake.press(fake_user, approve.replace("Xác nhận kết quả", "Ghi kết quả"))
        await zalo.wait_for(lambda: any("Chúc mừng" in m for m in zalo.sent(CITIZEN)))
        async with running.app.store.transaction() as uow:
            (declaration,) = await uow.declarations.list()
        assert declaration.status == "recognised"
        assert declaration.decided_by == f"telegram:{fake_user}"
        told = next(m for m in zalo.sent(CITIZEN) if "Chúc mừng" in m)
        assert "Nguyễn Văn Cừ, cán bộ phường Lê Chân" in told
    finally:
        await running.shutdown()


async def test_a_telegram_citizen_is_reviewed_by_a_zalo_coordinator(
    settings: Settings, fake: FakeTelegram, zalo: FakeZalo, zsay: ZConverse
) -> None:
    port = free_port()
    running = await start_bot(
        settings, telegram=fake, zalo=zalo,
        public_base_url=f"http://127.0.0.1:{port}", webhook_port=port,
    )  # fmt: skip
    try:
        code = await invite(running.app, wards=("11629",))  # Xã An Lão
        coord, citizen = ZALO_COORDINATOR, TELEGRAM_CITIZEN

        async def coordinator_says(text: str, expected: str) -> str:
            return await zsay(coord, lambda: zalo.send_text(coord, text), expected)

        async def converse(user: int, action: object, expected: str) -> str:
            before = len(fake.sent(user))
            await action()  # type: ignore[operator]
            await fake.wait_for(
                lambda: any(expected in p["text"] for p in fake.sent(user)[before:])
            )
            return ""

        async def press(label: str, expected: str) -> None:
            await converse(citizen, lambda: fake.press(citizen, label), expected)

        await coordinator_says(f"/coordinator {code}", "An Lão")
        await coordinator_says("Hoàng Thị Loan, xã An Lão", "Số điện thoại")
        await coordinator_says("0912 555 666", "Đã lưu")
        await register_on_telegram(fake, converse)
        await converse(citizen, lambda: fake.send_text(citizen, "/declare"), "10 phút")
        await press("Bắt đầu", "Chỉ số 1/10")
        await press("9", "Minh chứng")
        await converse(citizen, lambda: fake.send_photo(citizen, "p1", TELEGRAM_JPEG), "(1/5)")
        await press("Xong", "Chỉ số 2/10")
        for indicator in range(2, 11):
            await press("8", f"chỉ số {indicator}")
            following = f"Chỉ số {indicator + 1}/10" if indicator < 10 else "Tổng điểm: 81/100"
            await press("Không có minh chứng", following)
        await press("Nộp để xác nhận", "Đã nộp")

        await zalo.wait_for(lambda: any("/review 1" in m for m in zalo.sent(coord)))
        text = await coordinator_says("/review 1", "1. Xem từng chỉ số")
        assert "Phan Bội Châu" in text
        await coordinator_says("1", "Chỉ số 1/10")
        await zalo.wait_for(lambda: bool(zalo.calls_of("sendPhoto")))
        (photo,) = zalo.calls_of("sendPhoto")
        assert photo["chat_id"] == coord
        assert photo["photo"].startswith(f"http://127.0.0.1:{port}/evidence/")
        async with aiohttp.ClientSession() as http, http.get(photo["photo"]) as response:
            assert response.status == 200
            assert await response.read() == TELEGRAM_JPEG
        await coordinator_says("den phan quyet dinh", "thế nào")
        await coordinator_says("duyet", "Xác nhận kết quả Đạt")  # the old word still works
        await coordinator_says("xac nhan duyet", "Đã ghi kết quả")
        await fake.wait_for(lambda: any("Chúc mừng" in p["text"] for p in fake.sent(citizen)))
    finally:
        await running.shutdown()

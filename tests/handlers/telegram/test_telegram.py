"""Registration through the real client library (aiogram, python-telegram-bot) over HTTP against
the fake Bot API server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.config import Settings
from tests.bots import Running
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.telegram.conftest import agree, start_bot

USER = 555001
Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


async def registered_citizens(bot: Running) -> list[Any]:
    async with bot.app.store.transaction() as uow:
        return list(await uow.citizens.list())


async def test_registration_through_buttons_and_typed_answers(
    bot: Running, fake: FakeTelegram, converse: Converse, telegram_backend: str
) -> None:
    assert getattr(bot.channel, "library", None) == telegram_backend
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    await converse(USER, lambda: fake.press(USER, "Đủ 16 tuổi trở lên"), "Đồng ý để đăng ký")
    consent = fake.last_with_buttons(USER)
    assert [b["text"] for row in consent["reply_markup"]["inline_keyboard"] for b in row] == [
        "Đồng ý",
        "Xem đầy đủ",
        "Không đồng ý",
    ]
    await converse(USER, lambda: fake.press(USER, "Đồng ý"), "Đồng ý chia sẻ?")
    # the pressed message loses its keyboard and shows the answer
    assert fake.messages[consent["message_id"]]["text"].endswith("✓ Đồng ý")
    assert "reply_markup" not in fake.messages[consent["message_id"]]
    await converse(USER, lambda: fake.send_text(USER, "đồng ý ạ"), "số liệu thống kê")  # typed
    await converse(USER, lambda: fake.press(USER, "Không đồng ý"), "đối tượng")
    await converse(USER, lambda: fake.press(USER, "Học sinh, sinh viên, học viên"), "họ và tên")
    await converse(USER, lambda: fake.send_text(USER, "😊😊"), "chữ cái")
    await converse(USER, lambda: fake.send_text(USER, "nguyễn thị minh khai"), "năm sinh")
    await converse(USER, lambda: fake.send_text(USER, "2003"), "Giới tính")
    await converse(USER, lambda: fake.press(USER, "Nữ"), "số điện thoại")
    phone_prompt = fake.sent(USER)[-1]
    assert phone_prompt["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    await converse(USER, lambda: fake.share_contact(USER, "84912000111"), "phường/xã")
    assert fake.sent(USER)[-1]["reply_markup"] == {"remove_keyboard": True}
    await converse(USER, lambda: fake.send_text(USER, "kien an"), "Chọn đúng phường/xã")
    await converse(USER, lambda: fake.press(USER, "Phường Kiến An"), "tổ dân phố")
    await converse(USER, lambda: fake.send_text(USER, "Tổ dân phố 3"), "học tập ở đâu")
    assert "Bỏ qua" in [
        b["text"]
        for row in fake.last_with_buttons(USER)["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    await converse(USER, lambda: fake.press(USER, "Bỏ qua"), "Nguyễn Thị Minh Khai")
    await converse(USER, lambda: fake.press(USER, "Xác nhận đăng ký"), "thành công")

    (citizen,) = await registered_citizens(bot)
    assert citizen.full_name == "Nguyễn Thị Minh Khai"
    assert citizen.phone == "+84912000111"
    assert (citizen.group, citizen.gender, citizen.channel) == (4, "female", "telegram")
    assert citizen.ward_name == "Phường Kiến An"
    languages = {c.get("language_code") for c in fake.calls_of("setMyCommands")}
    assert languages == {"vi", "en", None}
    menu = next(c for c in fake.calls_of("setMyCommands") if c.get("language_code") == "en")
    assert {c["command"] for c in menu["commands"]} >= {"start", "help", "profile", "language"}
    assert fake.calls_of("answerCallbackQuery")


async def test_an_update_delivered_twice_is_handled_once(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    await agree(fake, converse, USER)
    await converse(USER, lambda: fake.press(USER, "Người lao động"), "họ và tên")
    update = fake.message_update(USER, text="Mạc Đĩnh Chi")
    update["update_id"] = fake.next_update_id
    fake.next_update_id += 1
    before = len(fake.sent(USER))
    await fake.push(dict(update))
    await fake.push(dict(update))
    await fake.wait_for(lambda: len(fake.sent(USER)) > before)
    await fake.send_text(USER, "/help")  # a later update, to know the duplicate had its turn

    def help_answered() -> bool:
        texts = [p["text"] for p in fake.sent(USER)[before:]]
        return any("/cancel" in text for text in texts) and "năm sinh" in texts[-1]

    await fake.wait_for(help_answered)
    texts = [p["text"] for p in fake.sent(USER)[before:]]
    # the name accepted once (no year-of-birth refusal from a second run), then /help re-asking
    assert texts[0].startswith("Xin cho biết năm sinh")
    assert len(texts) == 2
    assert not any("vui lòng gõ năm sinh" in text for text in texts)


async def test_stale_and_forged_buttons(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    await converse(USER, lambda: fake.press(USER, "Đủ 16 tuổi trở lên"), "Đồng ý để đăng ký")
    consent = fake.last_with_buttons(USER)
    await converse(USER, lambda: fake.send_text(USER, "1"), "chia sẻ")  # typed, not pressed
    await converse(USER, lambda: fake.send_text(USER, "1"), "thống kê")
    await converse(USER, lambda: fake.send_text(USER, "1"), "đối tượng")
    # the consent message still shows its buttons; pressing one now is stale
    text = await converse(
        USER, lambda: fake.press(USER, "Không đồng ý", message=consent), "Thuộc đối tượng"
    )
    assert "tin nhắn cũ" in text
    edits = fake.calls_of("editMessageReplyMarkup")
    assert consent["message_id"] in [int(c["message_id"]) for c in edits]
    assert "reply_markup" not in fake.messages[consent["message_id"]]
    groups = fake.last_with_buttons(USER)
    for forged in ("999999:g1", "garbage", "x" * 64):
        press = partial(fake.press_data, USER, groups, forged)
        text = await converse(USER, press, "Thuộc đối tượng")
        assert "tin nhắn cũ" in text
    async with bot.app.store.transaction() as uow:
        identity = await uow.identities.get("telegram", str(USER))
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.step == "group"
    assert "group" not in conversation.values


async def test_huge_messages_stickers_and_unknown_commands(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    await converse(USER, lambda: fake.send_text(USER, "a" * 5000), "quá dài")
    sticker = {
        "file_id": "s1",
        "file_unique_id": "s1",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    await converse(
        USER,
        lambda: fake.push(fake.message_update(USER, sticker=sticker)),
        "Chưa dùng được loại tin nhắn này",
    )
    await converse(USER, lambda: fake.send_text(USER, "/xyz@cdht_test_bot"), "/xyz")


async def test_english_client_gets_english(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    update = fake.message_update(USER, text="/start")
    update["message"]["from"]["language_code"] = "en"
    await converse(USER, lambda: fake.push(update), "Welcome")
    assert (
        fake.last_with_buttons(USER)["reply_markup"]["inline_keyboard"][0][0]["text"]
        == "16 or older"
    )
    await converse(USER, lambda: fake.press(USER, "16 or older"), "Do you agree")
    assert (
        fake.last_with_buttons(USER)["reply_markup"]["inline_keyboard"][0][0]["text"] == "I agree"
    )


async def test_restart_in_the_middle_resumes_at_the_same_step(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    first = await start_bot(settings, fake)
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    await agree(fake, converse, USER)
    await converse(USER, lambda: fake.press(USER, "Người lao động"), "họ và tên")
    await converse(USER, lambda: fake.send_text(USER, "Chu Văn An"), "năm sinh")
    await first.shutdown()

    second = await start_bot(settings, fake)
    try:
        text = await converse(USER, lambda: fake.send_text(USER, "/start"), "Tiếp tục từ chỗ")
        assert "năm sinh" in text
        await converse(USER, lambda: fake.send_text(USER, "1965"), "Giới tính")
    finally:
        await second.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_checks_the_secret_token(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    running = await start_bot(
        settings,
        fake,
        telegram_webhook_url=url,
        telegram_webhook_secret=SecretStr("s3cr3t-value"),
        webhook_port=port,
    )
    try:
        await fake.wait_for(lambda: bool(fake.calls_of("setWebhook")))
        (hook,) = fake.calls_of("setWebhook")
        assert hook["url"] == url and hook["secret_token"] == "s3cr3t-value"
        update = fake.message_update(USER, text="/start")
        update["update_id"] = 1
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as response:
                assert response.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
            await asyncio.sleep(0)
            assert fake.sent(USER) == []
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t-value"}

            async def post() -> None:
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 200

            await converse(USER, post, "Công dân học tập")
    finally:
        await running.shutdown()


async def test_vietnamese_command_words_and_a_citizens_note_that_looks_like_a_decision(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    text = await converse(USER, lambda: fake.send_text(USER, "trợ giúp"), "Các lệnh dùng được")
    assert "bấm nút" in text  # Telegram has buttons: the button variant
    await converse(USER, lambda: fake.send_text(USER, "đăng ký"), "Công dân học tập")
    text = await converse(
        USER, lambda: fake.send_text(USER, "Trả 2 cuốn sách cho thư viện"), "Vui lòng chọn"
    )
    assert "chỉ dành cho cán bộ" not in text  # a citizen's text, answered as text
    await converse(USER, lambda: fake.send_text(USER, "hủy"), "Đã hủy đăng ký")

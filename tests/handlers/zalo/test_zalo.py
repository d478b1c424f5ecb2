"""The whole product on the fake Zalo Bot Platform: numbered text menus, photo URLs, webhooks."""

from __future__ import annotations

import socket
import time
from functools import partial
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.engine import Choice, InboundKind, Reply
from bot.handlers.zalo import ZaloChannel, parse_update, split_reply, unwrap
from bot.services.links import LinkSigner
from tests.bots import Running, start_bot
from tests.fakes.zalo_api import FakeZalo
from tests.handlers.zalo.conftest import ZConverse
from tests.verification_helpers import invite

CITIZEN = "zalo-user-8841"
JPEG = b"\xff\xd8\xff\xe0" + b"zalo photo of a certificate" * 50


async def register_on_zalo(zalo: FakeZalo, zsay: ZConverse, user: str = CITIZEN) -> None:
    steps = [
        # as a resident in her seventies types on Zalo: words, particles, no diacritics
        ("xin chào", "1. Đủ 16 tuổi trở lên\n2. Dưới 16 tuổi"),
        ("đủ rồi", "1. Đồng ý\n2. Xem đầy đủ\n3. Không đồng ý"),
        ("đồng ý ạ", "Đồng ý chia sẻ?"),
        ("vâng", "số liệu thống kê"),
        ("không", "Thuộc đối tượng nào?"),
        ("nguoi dan o phuong/xa", "họ và tên"),
        ("bà Đỗ thị thu trang", "năm sinh"),
        ("năm 1952", "Giới tính"),
        ("2", "số điện thoại"),
        ("0987 654 321", "phường/xã"),
        ("du hang kenh", "1. Phường Lê Chân"),  # the name before the 2025 merger
        ("1", "tổ dân phố"),
        ("Tổ 4", "Đỗ Thị Thu Trang"),
        ("Đúng", "đăng ký thành công"),  # "Đúng" answers "đã đúng chưa?": no opt-out
    ]
    for text, expected in steps:
        await zsay(user, partial(zalo.send_text, user, text), expected)


async def declare_on_zalo(zalo: FakeZalo, zsay: ZConverse, user: str = CITIZEN) -> None:
    await zsay(user, lambda: zalo.send_text(user, "/declare"), "khoảng 10 phút")
    text = await zsay(user, lambda: zalo.send_text(user, "1"), "Chỉ số 1/10")
    assert "0 · 1 · 2 · 3 · 4 · 5 · 6 · 7 · 8 · 9 · 10" in text
    text = await zsay(user, lambda: zalo.send_text(user, "9"), "Minh chứng cho chỉ số 1")
    assert "Zalo không gửi được tệp PDF" in text
    await zsay(user, lambda: zalo.send_image(user, "c1.jpg", JPEG), "Đã nhận tệp (1/5)")
    await zsay(user, lambda: zalo.send_text(user, "xong"), "Chỉ số 2/10")
    for indicator in range(2, 11):
        await zsay(user, lambda: zalo.send_text(user, "8"), f"cho chỉ số {indicator}")
        following = f"Chỉ số {indicator + 1}/10" if indicator < 10 else "Tổng điểm: 81/100"
        await zsay(user, lambda: zalo.send_text(user, "khong co minh chung"), following)
    await zsay(user, lambda: zalo.send_text(user, "1"), "Đã nộp")


async def test_registration_and_declaration_with_a_photo(
    zbot: Running, zalo: FakeZalo, zsay: ZConverse
) -> None:
    await register_on_zalo(zalo, zsay)
    await zsay(CITIZEN, lambda: zalo.send_sticker(CITIZEN), "Chưa đọc được loại tin nhắn này")
    await declare_on_zalo(zalo, zsay)
    async with zbot.app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        (declaration,) = await uow.declarations.list()
        (evidence,) = await uow.declarations.evidence(declaration.id)
    assert citizen.channel == "zalo"
    assert citizen.phone == "+84987654321"
    assert declaration.status == "submitted"
    assert evidence.mime_type == "image/jpeg"
    assert zbot.app.evidence.path(evidence.sha256).read_bytes() == JPEG
    assert all(len(m) <= 2000 for m in zalo.sent(CITIZEN))


async def test_a_coordinator_on_zalo_returns_and_approves_by_typing(
    zbot: Running, zalo: FakeZalo, zsay: ZConverse
) -> None:
    coordinator = "zalo-coord-1"
    code = await invite(zbot.app)
    await zsay(coordinator, lambda: zalo.send_text(coordinator, f"/coordinator {code}"), "Lê Chân")
    await zsay(
        coordinator,
        lambda: zalo.send_text(coordinator, "Lương Văn Dũng, cán bộ phường Lê Chân"),
        "Số điện thoại",
    )
    await zsay(coordinator, lambda: zalo.send_text(coordinator, "bo qua"), "Đã lưu")
    await register_on_zalo(zalo, zsay)
    await declare_on_zalo(zalo, zsay)
    await zalo.wait_for(lambda: any("• Xem xét — /review 1" in m for m in zalo.sent(coordinator)))
    text = await zsay(coordinator, lambda: zalo.send_text(coordinator, "/queue"), "#1")
    assert "DUYET" in text
    await zsay(
        coordinator,
        lambda: zalo.send_text(coordinator, "TRẢ 1 1 Ảnh mờ, chụp lại giúp"),
        "Trả lại hồ sơ này để bổ sung?",
    )
    await zsay(coordinator, lambda: zalo.send_text(coordinator, "1"), "Đã trả lại hồ sơ #1")
    await zalo.wait_for(lambda: any("Ảnh mờ, chụp lại giúp" in m for m in zalo.sent(CITIZEN)))
    told = next(m for m in zalo.sent(CITIZEN) if "Ảnh mờ" in m)
    assert "Lương Văn Dũng, cán bộ phường Lê Chân" in told
    assert not any("Đồng ý để đăng ký" in m for m in zalo.sent(coordinator))  # staff: no consent
    # the label the message quotes («Chọn «Bổ sung»»), typed without diacritics
    text = await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "bo sung"), "Chỉ số 1/10")
    assert "Giữ 9 điểm" in text and "bấm" not in text.lower()
    await zsay(CITIZEN, lambda: zalo.send_image(CITIZEN, "c2.jpg", JPEG + b"!"), "(2/5)")
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "xong"), "Tổng điểm: 81/100")
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "nop de xac nhan"), "Đã nộp")
    await zalo.wait_for(lambda: any("lần 2" in m for m in zalo.sent(coordinator)))
    await zsay(coordinator, lambda: zalo.send_text(coordinator, "duyệt 1"), "Xác nhận kết quả Đạt")
    await zsay(coordinator, lambda: zalo.send_text(coordinator, "có"), "Đã ghi kết quả hồ sơ #1")
    await zalo.wait_for(lambda: any("Chúc mừng" in m for m in zalo.sent(CITIZEN)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_secret_both_body_shapes_and_duplicates(
    settings: Settings, zalo: FakeZalo
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/zalo/hook"
    running = await start_bot(
        settings, zalo=zalo, zalo_webhook_url=url,
        zalo_webhook_secret=SecretStr("z-secret"), webhook_port=port,
    )  # fmt: skip
    try:
        await zalo.wait_for(lambda: bool(zalo.calls_of("setWebhook")))
        assert zalo.calls_of("setWebhook")[0] == {"url": url, "secret_token": "z-secret"}
        first = zalo.update(CITIZEN, "text", text="/start")
        again = zalo.update(CITIZEN, "text", text="/help")
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=first) as response:
                assert response.status == 401
            headers = {"X-Bot-Api-Secret-Token": "wrong"}
            async with http.post(url, json=first, headers=headers) as response:
                assert response.status == 401
            headers = {"X-Bot-Api-Secret-Token": "z-secret"}
            async with http.post(url, json={"ok": True, "result": first}, headers=headers) as r:
                assert r.status == 200
            async with http.post(url, json=first, headers=headers) as response:  # bare, again
                assert response.status == 200
            async with http.post(url, json=again, headers=headers) as response:
                assert response.status == 200
        await zalo.wait_for(lambda: any("/cancel" in m for m in zalo.sent(CITIZEN)))
        consents = [m for m in zalo.sent(CITIZEN) if "1. Đủ 16 tuổi trở lên" in m]
        assert len(consents) == 2  # /start once (not twice), then /help re-asking
    finally:
        await running.shutdown()


def test_a_3000_character_reply_is_split_at_lines_keeping_the_menu_whole() -> None:
    from bot.i18n import Translator

    lines = [f"Dòng số {n}: " + "chữ " * 12 for n in range(50)]
    text = "\n".join(lines)
    assert 2900 < len(text) < 3100
    reply = Reply(text, "vi", (Choice("a", "Đồng ý"), Choice("b", "Không đồng ý")))
    pieces = split_reply(reply, Translator("vi"))
    assert len(pieces) == 2
    assert all(len(piece) <= 2000 for piece in pieces)
    assert pieces[-1].endswith(
        "1. Đồng ý\n2. Không đồng ý\n(Trả lời bằng số thứ tự hoặc gõ nội dung lựa chọn.)"
    )
    body = "\n".join(pieces)
    for line in lines:
        assert line.strip() in body  # no line cut in two
    assert split_reply(Reply("ngắn", "vi"), Translator("vi")) == ["ngắn"]


def test_updates_are_parsed_from_both_shapes_and_keywords() -> None:
    update: dict[str, Any] = {
        "event_name": "message.text.received",
        "message": {
            "message_id": "m9",
            "from": {"id": "u1"},
            "chat": {"id": "u1", "chat_type": "PRIVATE"},
            "text": "TỪ CHỐI 12 không đúng người",
        },
    }
    assert unwrap({"ok": True, "result": update}) == update
    assert unwrap(update) == update
    assert unwrap([1]) is None
    inbound = parse_update(update)
    assert inbound is not None
    # typed decisions and command words are read by the engine, for every channel alike
    assert (inbound.kind, inbound.text, inbound.update_id) == (
        InboundKind.TEXT, "TỪ CHỐI 12 không đúng người", "m9",
    )  # fmt: skip
    group = {**update, "message": {**update["message"], "chat": {"id": "g", "chat_type": "GROUP"}}}
    assert parse_update(group) is None


async def test_signed_evidence_links_valid_expired_and_tampered(
    settings: Settings, zalo: FakeZalo
) -> None:
    port = free_port()
    running = await start_bot(
        settings, zalo=zalo, public_base_url=f"http://127.0.0.1:{port}", webhook_port=port
    )
    try:
        sha = "ab" * 32
        path = running.app.evidence.path(sha)
        path.parent.mkdir(parents=True)
        path.write_bytes(JPEG)
        key = (settings.data_dir / "link-secret").read_text(encoding="ascii")
        signer = LinkSigner(bytes.fromhex(key), f"http://127.0.0.1:{port}")
        now = int(time.time())
        valid = signer.url(sha, now + 3600)
        expired = signer.url(sha, now - 1)
        tampered = valid.replace(str(now + 3600), str(now + 999_999))
        async with aiohttp.ClientSession() as http:
            async with http.get(valid) as response:
                assert response.status == 200
                assert response.content_type == "image/jpeg"
                assert await response.read() == JPEG
            flipped = valid[:-1] + ("1" if valid[-1] == "0" else "0")  # one signature digit off
            base = f"http://127.0.0.1:{port}/evidence/"
            malformed = [
                f"{base}x",
                f"{base}{sha}.²³.{'0' * 32}",  # digits to str.isdigit, not to int
                f"{base}{sha}.{'9' * 5000}.{'0' * 32}",  # past int's 4300-digit limit
                f"{base}{sha}.-1.{'0' * 32}",
                f"{base}{sha.upper()}.{now + 60}.{'0' * 32}",
                f"{base}{'..' * 40}",
            ]
            for bad in (expired, tampered, flipped, *malformed):
                async with http.get(bad) as response:
                    assert 400 <= response.status < 500, bad
    finally:
        await running.shutdown()


async def test_rate_limits_and_blocked_users_become_neutral_errors(
    zbot: Running, zalo: FakeZalo
) -> None:
    from bot.services.outbox import RateLimited

    channel = zbot.channels["zalo"]
    assert isinstance(channel, ZaloChannel)
    zalo.rate_limited = 1
    with pytest.raises(RateLimited) as caught:
        await channel.deliver("someone", Reply("xin chào", "vi"), None)
    assert caught.value.retry_after >= 1
    await channel.deliver("someone", Reply("xin chào", "vi"), None)
    assert zalo.sent("someone") == ["xin chào", "xin chào"]


def test_images_are_read_from_photo_url_as_live_events_send_them_or_from_photo() -> None:
    base: dict[str, Any] = {
        "message_id": "m1",
        "from": {"id": "u1"},
        "chat": {"id": "u1", "chat_type": "PRIVATE"},
    }
    for key in ("photo_url", "photo"):  # live events, and the documented field
        event = {"event_name": "message.image.received", "message": {**base, key: "https://x/p"}}
        inbound = parse_update(event)
        assert inbound is not None
        assert inbound.file is not None
        assert inbound.file.file_id == "https://x/p"
    empty = {"event_name": "message.image.received", "message": base}
    parsed = parse_update(empty)
    assert parsed is not None
    assert parsed.file is None


async def test_a_403_is_a_server_error_retried_not_a_block(
    zbot: Running, zalo: FakeZalo, zsay: ZConverse
) -> None:
    await register_on_zalo(zalo, zsay)
    zalo.server_errors = 1  # the answer to the next message meets a 403
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "/status"), "Đã đăng ký")
    assert zalo.server_errors == 0
    async with zbot.app.store.transaction() as uow:
        identity = await uow.identities.get("zalo", CITIZEN)
    assert identity is not None
    assert not identity.unreachable  # still written to: broadcasts and reminders reach them


async def test_an_unsupported_message_gets_one_clear_answer(
    zbot: Running, zalo: FakeZalo, zsay: ZConverse
) -> None:
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "xin chào"), "1. Đủ 16 tuổi trở lên")
    before = len(zalo.sent(CITIZEN))
    text = await zsay(CITIZEN, lambda: zalo.send_unsupported(CITIZEN), "Không đọc được")
    assert "Đủ 16 tuổi" not in text  # not the whole question again
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "1"), "Đồng ý để đăng ký")
    assert len(zalo.sent(CITIZEN)) == before + 2


async def test_replies_go_to_the_chat_the_message_came_from(zbot: Running, zalo: FakeZalo) -> None:
    await zalo.push(zalo.update("person-7", "text", chat_id="chat-7", text="/start"))
    await zalo.wait_for(lambda: "chat-7" in zalo.sent_to_chats())
    assert "person-7" not in zalo.sent_to_chats()


async def test_command_words_on_zalo_and_no_button_words(
    zbot: Running, zalo: FakeZalo, zsay: ZConverse
) -> None:
    text = await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "tro giup"), "Các lệnh dùng được")
    assert "bấm" not in text.lower()  # Zalo shows numbered menus: the typed variant
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "dang ky"), "1. Đủ 16 tuổi trở lên")
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "quay lại"), "Không còn câu nào trước đó")
    await zsay(CITIZEN, lambda: zalo.send_text(CITIZEN, "huỷ"), "Đã hủy đăng ký")

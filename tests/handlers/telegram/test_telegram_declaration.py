"""A declaration through real aiogram: score buttons, photo and document evidence downloaded
from the fake Bot API server, review and submit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.bots import Running
from tests.fakes.telegram_api import FakeTelegram

USER = 555002
JPEG = b"\xff\xd8\xff\xe0" + b"certificate" * 100
PDF = b"%PDF-1.5\n" + b"plan" * 100
Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


async def register(fake: FakeTelegram, converse: Converse) -> None:
    steps: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: fake.send_text(USER, "/start"), "Công dân học tập"),
        (lambda: fake.press(USER, "Đủ 16 tuổi trở lên"), "Đồng ý để"),
        (lambda: fake.press(USER, "Đồng ý"), "chia sẻ"),
        (lambda: fake.press(USER, "Đồng ý"), "thống kê"),
        (lambda: fake.press(USER, "Đồng ý"), "đối tượng"),
        (lambda: fake.press(USER, "Người lao động"), "họ và tên"),
        (lambda: fake.send_text(USER, "Phan Bội Châu"), "năm sinh"),
        (lambda: fake.send_text(USER, "1967"), "Giới tính"),
        (lambda: fake.press(USER, "Nam"), "số điện thoại"),
        (lambda: fake.send_text(USER, "0912 000 222"), "phường/xã"),
        (lambda: fake.send_text(USER, "an lao"), "Chọn đúng phường/xã"),
        (lambda: fake.press(USER, "Xã An Lão"), "tổ dân phố"),
        (lambda: fake.send_text(USER, "Thôn Tây"), "học tập ở đâu"),
        (lambda: fake.press(USER, "Bỏ qua"), "Phan Bội Châu"),
        (lambda: fake.press(USER, "Xác nhận đăng ký"), "/declare"),
    ]
    for action, expected in steps:
        await converse(USER, action, expected)


async def test_a_declaration_with_photo_and_document_evidence(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    await register(fake, converse)
    await converse(USER, lambda: fake.send_text(USER, "/declare"), "khoảng 10 phút")
    await converse(USER, lambda: fake.press(USER, "Bắt đầu"), "Chỉ số 1/10")
    keyboard = fake.last_with_buttons(USER)["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in keyboard[0]] == ["0", "1", "2", "3", "4", "5"]
    await converse(USER, lambda: fake.press(USER, "9"), "Minh chứng cho chỉ số 1")
    await converse(USER, lambda: fake.send_photo(USER, "ph-1", JPEG), "Đã nhận tệp (1/5)")
    await converse(
        USER,
        lambda: fake.send_document(USER, "doc-1", PDF, "application/pdf", "chứng chỉ.pdf"),
        "Đã nhận tệp (2/5)",
    )
    await converse(
        USER, lambda: fake.send_photo(USER, "ph-1", JPEG), "đã được gửi cho chỉ số này rồi"
    )
    await converse(
        USER,
        lambda: fake.send_document(
            USER, "doc-2", b"MZ\x90\x00", "application/x-msdownload", "a.exe"
        ),
        "Chỉ nhận ảnh",
    )
    await converse(
        USER,
        lambda: fake.send_document(
            USER, "doc-3", PDF, "application/pdf", "big.pdf", declared_size=30 * 1024 * 1024
        ),
        "Tệp quá lớn",
    )
    fake.failing_downloads = 1
    await converse(USER, lambda: fake.send_photo(USER, "ph-2", JPEG + b"2"), "Chưa tải được tệp")
    await converse(USER, lambda: fake.press(USER, "Xong"), "Chỉ số 2/10")
    for indicator in range(2, 11):
        await converse(USER, lambda: fake.press(USER, "8"), f"Minh chứng cho chỉ số {indicator}")
        following = f"Chỉ số {indicator + 1}/10" if indicator < 10 else "Tổng điểm: 81/100"
        await converse(USER, lambda: fake.press(USER, "Không có minh chứng"), following)
    await converse(USER, lambda: fake.press(USER, "Nộp để xác nhận"), "Đã nộp")

    async with bot.app.store.transaction() as uow:
        declarations = await uow.declarations.list()
        (declaration,) = declarations
        evidence = await uow.declarations.evidence(declaration.id)
    assert declaration.status == "submitted"
    assert [(e.kind, e.mime_type, e.channel_file_id) for e in evidence] == [
        ("photo", "image/jpeg", "ph-1"),
        ("document", "application/pdf", "doc-1"),
    ]
    assert bot.app.evidence.path(evidence[0].sha256).read_bytes() == JPEG
    stored = [p for p in bot.app.evidence.root.rglob("*") if p.is_file()]
    assert len(stored) == 2  # no copy of the refused or failed files
    downloads = [c["path"] for c in fake.calls_of("download")]
    assert downloads.count("documents/ph-1") == 2  # the duplicate was fetched, then not stored

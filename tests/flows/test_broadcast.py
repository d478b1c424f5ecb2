"""Composing a broadcast in the chat: admin, coordinator (own wards), refusal for citizens."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from tests.chat import Chat, register
from tests.conftest import make_settings, started_app
from tests.verification_helpers import coordinator


async def test_an_admin_composes_previews_and_sends(tmp_path: Path) -> None:
    app = await started_app(
        make_settings(tmp_path, admins="console:boss", quiet_hours="21:00-07:00")
    )
    try:
        await register(Chat(app.engine, user="c1"))
        await register(Chat(app.engine, user="c2"))
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/broadcast")
        boss.expect("toàn thành phố")
        await boss.send("Ngày hội học tập tại nhà văn hóa phường, 8 giờ Chủ nhật.")
        boss.expect("Gửi cho ai?", choices=["all", "not_started", "in_progress", "submitted",
                                          "returned", "recognised"])  # fmt: skip
        await boss.press("not_started")
        boss.expect(
            "gửi cho 2 người", "Ngày hội học tập", "(21:00–07:00)", choices=["send", "cancel"]
        )
        await boss.press("send")
        boss.expect("Đã xếp hàng gửi tin #1 đến 2 người")
        await boss.send("/broadcast report 1")
        boss.expect("Tin #1 (đang gửi): 2 người nhận", "đang chờ 2")
        async with app.store.transaction() as uow:
            broadcast = await uow.broadcasts.get(1)
        assert broadcast is not None
        assert broadcast.choices[0][0] == "/declare"  # "Continue my declaration"
        await boss.send("/broadcast cancel 1")
        boss.expect("2 tin chưa gửi đã được rút lại")
        await boss.send("/broadcast")
        await boss.send("Thử")
        await boss.press("all")
        await boss.press("cancel")
        boss.expect("chưa gửi gì")
    finally:
        await app.close()


async def test_a_coordinator_reaches_only_their_wards_and_citizens_are_refused(app: App) -> None:
    citizen = Chat(app.engine, user="c1")
    await register(citizen)  # Phường Lê Chân
    other = await coordinator(app, "other", wards=("11311",))
    await other.send("/broadcast")
    other.expect("1 phường/xã đang phụ trách")
    await other.send("Họp tổ dân phố")
    await other.press("all")
    other.expect("gửi cho 0 người")
    mine = await coordinator(app, "mine")
    await mine.send("/broadcast")
    await mine.send("Họp tổ dân phố")
    await mine.press("all")
    mine.expect("gửi cho 1 người")
    await citizen.send("/broadcast")
    citizen.expect("chỉ dành cho cán bộ")
    await citizen.send("/broadcast report 1")
    citizen.expect("chỉ dành cho cán bộ")

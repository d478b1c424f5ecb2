"""Roles cannot be escalated: one-time codes are one-time on every backend, a revoked account
stays revoked, and CDHT_ADMINS is the only source of configured admins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App
from bot.domain.usecases.roles import role_of
from bot.engine import Inbound, InboundKind
from tests.chat import Chat
from tests.conftest import make_settings, started_app
from tests.verification_helpers import declaration_id, invite, submitted


async def staff_rows(app: App) -> list[tuple[str, str, bool, frozenset[str]]]:
    async with app.store.transaction() as uow:
        members = await uow.staff.all()
    return [(m.account, m.role, m.revoked_at is None, m.wards) for m in members]


async def test_a_code_redeemed_by_six_accounts_at_once_binds_exactly_one(any_app: App) -> None:
    app = any_app
    code = await invite(app)
    inbounds = [
        Inbound("test", f"racer{n}", InboundKind.COMMAND, update_id=f"race{n}",
                command="coordinator", args=code)
        for n in range(6)
    ]  # fmt: skip
    results = await asyncio.gather(*(app.engine.handle(inbound) for inbound in inbounds))
    texts = [" ".join(reply.text for reply in result.replies) for result in results]
    assert sum("cán bộ phụ trách" in text for text in texts) == 1, texts
    assert sum("đã được sử dụng" in text for text in texts) == 5, texts
    rows = await staff_rows(app)
    assert len(rows) == 1, rows
    (winner,) = rows
    assert winner[1:] == ("coordinator", True, frozenset({"11383"}))
    async with app.store.transaction() as uow:
        for n in range(6):
            role = await role_of(uow, "test", f"racer{n}", ())
            assert role.is_staff == (f"test:racer{n}" == winner[0])


async def test_a_revoked_coordinator_who_cancels_an_open_review_stays_revoked(
    any_app: App,
) -> None:
    app = any_app
    coordinator = Chat(app.engine, user="coord")
    await coordinator.send(f"/coordinator {await invite(app)}")
    await submitted(app, "citizen")
    number = await declaration_id(app)
    await coordinator.send(f"/review {number}")
    coordinator.expect(f"Hồ sơ #{number}")
    async with app.store.transaction() as uow:
        (member,) = await uow.staff.all()
        assert await uow.staff.revoke(member.id, datetime.now(UTC))
    await coordinator.send("/cancel")
    # the record stays as it was revoked: no admin role, not active
    assert await staff_rows(app) == [("test:coord", "coordinator", False, frozenset({"11383"}))]
    await coordinator.send("/queue")
    coordinator.expect("chỉ dành cho cán bộ")
    await coordinator.send("/invite admin")
    coordinator.expect("Chỉ quản trị viên")
    await coordinator.send(f"/duyet {number}")
    coordinator.expect("chỉ dành cho cán bộ")
    async with app.store.transaction() as uow:
        declaration = await uow.declarations.get(number)
        assert declaration is not None
        assert (declaration.status, declaration.claimed_by) == ("submitted", None)


async def test_an_admin_removed_from_the_list_keeps_only_the_wards_they_redeemed(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, admins="console:boss")
    app = await started_app(settings)
    try:
        await submitted(app, "citizen")  # Phường Lê Chân
        number = await declaration_id(app)
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send(f"/review {number}")  # an admin's claim gives the account a record
        boss.expect(f"Hồ sơ #{number}")
        await boss.send("/cancel")
        await boss.send(f"/coordinator {await invite(app, wards=('11311',))}")  # Hồng Bàng
        boss.expect("Phường Hồng Bàng")
        await boss.send("Trần Văn Bình, Hội Khuyến học thành phố")
        await boss.press("skip")
        await boss.send("/invite admin")
        boss.expect("Mã mời quản trị viên")  # still listed: an admin
    finally:
        await app.close()

    app = await started_app(make_settings(tmp_path))  # CDHT_ADMINS no longer lists test:boss
    try:
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/invite admin")
        boss.expect("Chỉ quản trị viên")
        await boss.send("/queue")
        assert f"#{number}" not in boss.text
        await boss.send(f"/review {number}")
        boss.expect(f"Không có hồ sơ #{number} trong các phường/xã do tài khoản này phụ trách")
        async with app.store.transaction() as uow:
            role = await role_of(uow, "console", "boss", ())
        assert (role.admin, role.wards) == (False, frozenset({"11311"}))
    finally:
        await app.close()

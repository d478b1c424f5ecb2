"""The morning digest and escalations, with a fixed clock: each sent once, whatever restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.engine.types import text_from_json
from bot.services.schedule import Scheduler, greeting
from tests.verification_helpers import coordinator, declaration_id, submitted

# 07:30 and 08:05 in Hải Phòng (UTC+7)
BEFORE_EIGHT = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
AFTER_EIGHT = datetime(2026, 11, 30, 1, 5, tzinfo=UTC)


def scheduler(app: App, now: datetime, admins: tuple[str, ...] = ("test:boss",)) -> Scheduler:
    return Scheduler(app.store, admins, digest_hour=8, clock=lambda: now)


async def outbox_texts(app: App) -> list[tuple[str, str]]:
    async with app.store.transaction() as uow:
        rows = await uow.outbox.due("test", datetime(2100, 1, 1, tzinfo=UTC), 100)
    return [(row.message.external_id, row.message.payload["text"]["key"]) for row in rows]


async def test_the_digest_goes_at_eight_once_a_day(app: App) -> None:
    await coordinator(app, "coord")
    await coordinator(app, "idle", wards=("11311",))
    await submitted(app, "citizen")
    before = len(await outbox_texts(app))
    assert await scheduler(app, BEFORE_EIGHT).tick() == 0
    assert await scheduler(app, AFTER_EIGHT).tick() == 1
    assert await scheduler(app, AFTER_EIGHT + timedelta(hours=3)).tick() == 0  # a restart
    texts = (await outbox_texts(app))[before:]
    # nobody with nothing pending; the oldest was sent today: «… đều mới gửi trong hôm nay»
    assert texts == [("coord", "note.digest.today")]
    assert await scheduler(app, AFTER_EIGHT + timedelta(days=1)).tick() == 1


async def test_a_digest_sent_in_the_afternoon_does_not_say_good_morning(app: App) -> None:
    """A process started at 14:20 in Hải Phòng sends the day's digest then: its greeting is
    for the afternoon, by the clock in Viet Nam (UTC+7), not the server's."""
    await coordinator(app, "coord")
    await submitted(app, "citizen")
    afternoon = datetime(2026, 11, 30, 7, 20, tzinfo=UTC)  # 14:20 in Hải Phòng
    assert await scheduler(app, afternoon).tick() == 1
    async with app.store.transaction() as uow:
        rows = await uow.outbox.due("test", datetime(2100, 1, 1, tzinfo=UTC), 100)
    (digest,) = [r for r in rows if r.message.payload["text"]["key"].startswith("note.digest")]
    text = app.engine.text("vi", text_from_json(digest.message.payload["text"]))
    assert text.startswith("Chào buổi chiều! Có 1 hồ sơ đang chờ xác nhận")
    assert "sáng" not in text
    assert [greeting(h).key for h in (6, 12, 14, 20)] == [
        "greeting.morning", "greeting.noon", "greeting.afternoon", "greeting.evening"
    ]  # fmt: skip


async def test_items_pending_over_seven_days_go_to_the_admins_once(app: App) -> None:
    await coordinator(app, "coord")
    await submitted(app, "citizen")
    number = await declaration_id(app)
    async with app.store.transaction() as uow:
        await uow.declarations.update(
            number, AFTER_EIGHT, submitted_at=AFTER_EIGHT - timedelta(days=8)
        )
    late = scheduler(app, BEFORE_EIGHT)
    assert await late.tick() == 1
    assert await late.tick() == 0
    assert ("boss", "note.escalation") in await outbox_texts(app)

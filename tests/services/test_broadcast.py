"""Broadcasts and reminders: audiences, scheduling, quiet hours, opt-out, blocked users, 429s."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.domain.records import NewCitizen
from bot.domain.usecases.broadcasts import audience, create_broadcast, release_due
from bot.services.outbox import OutboxSender, Pace, RateLimited, RateLimiter, Unreachable
from bot.services.schedule import Reminders, Scheduler
from tests.chat import Chat, register
from tests.conftest import make_settings, started_app
from tests.verification_helpers import RecordingDeliverer

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 10:00 in Hải Phòng
NIGHT = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 22:00 in Hải Phòng
PERSON = NewCitizen(
    "Người Dân", 1980, None, "+84912345678", 1, "11383", "Phường Lê Chân", "v", "Tổ 1", None,
    None, "test", "vi",
)  # fmt: skip


async def people(app: App) -> None:
    """Five citizens: two wards, two groups, various statuses, one Zalo, one in English."""
    rows: list[tuple[str, dict[str, Any], str | None]] = [
        ("a", {}, None),
        ("b", dict(group=2), "draft"),
        ("c", dict(ward_code="11311", ward_name="Phường Hồng Bàng"), "submitted"),
        ("d", dict(channel="zalo"), "recognised"),
        ("e", dict(locale="en"), None),
    ]
    async with app.store.transaction() as uow:
        for user, changes, status in rows:
            citizen = await uow.citizens.create(replace(PERSON, **changes), NOW - timedelta(days=5))
            channel = changes.get("channel", "test")
            identity = await uow.identities.create(str(channel), user, None)
            await uow.identities.bind(identity.id, citizen.id)
            if status:
                declaration = await uow.declarations.create(citizen.id, 2026, "qd324-2023", NOW)
                await uow.declarations.update(declaration.id, NOW, status=status)


async def count(app: App, **filters: object) -> int:
    async with app.store.transaction() as uow:
        return await uow.broadcasts.count_audience(audience(year=2026, **filters))  # type: ignore[arg-type]


async def test_audience_filters(any_app: App) -> None:
    app = any_app
    await people(app)
    assert await count(app) == 5
    assert await count(app, wards=["11311"]) == 1
    assert await count(app, group=2) == 1
    assert await count(app, status="not_started") == 2
    assert await count(app, status="in_progress") == 1
    assert await count(app, status="submitted") == 1
    assert await count(app, status="recognised") == 1
    assert await count(app, channel="zalo") == 1
    assert await count(app, locale="en") == 1
    assert await count(app, wards=["11383"], status="not_started", locale="vi") == 1
    with pytest.raises(ValueError, match="unknown status"):
        audience(status="everyone")


async def test_schedule_cancel_and_report(app: App) -> None:
    await people(app)
    async with app.store.transaction() as uow:
        later = await create_broadcast(uow, "Hẹn gặp", {}, "cli", NOW, NOW + timedelta(hours=2))
        assert (later.status, later.recipients) == ("scheduled", 0)
        assert await release_due(uow, NOW + timedelta(hours=1)) == 0
        assert await release_due(uow, NOW + timedelta(hours=2)) == 5
        assert await release_due(uow, NOW + timedelta(hours=3)) == 0  # once
        queued = await uow.broadcasts.get(later.id)
        assert queued is not None
        assert (queued.status, queued.recipients) == ("queued", 5)
    deliverer = RecordingDeliverer()
    sender = OutboxSender(
        app.store, deliverer, app.engine.text, "vi", app.evidence.path,
        pace=Pace(1000, 0), clock=lambda: NOW + timedelta(hours=2),
    )  # fmt: skip
    await sender.flush()
    assert sorted(d.external_id for d in deliverer.sent) == ["a", "b", "c", "e"]  # d is Zalo
    assert {d.text for d in deliverer.sent} == {"Hẹn gặp"}
    async with app.store.transaction() as uow:
        assert await uow.broadcasts.cancel(later.id) == 1  # the Zalo one, not yet sent
        report = await uow.broadcasts.report(later.id)
    assert report == {"sent": 4, "failed": 0, "blocked": 0, "pending": 0, "cancelled": 1}


async def test_quiet_hours_hold_broadcasts_but_not_notifications(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, quiet_hours="21:00-07:00"))
    try:
        await people(app)
        async with app.store.transaction() as uow:
            await create_broadcast(uow, "Tin tối", {"channel": "test"}, "cli", NIGHT)
            from bot.domain.usecases.notices import text_message
            from bot.engine import t

            await uow.outbox.enqueue(text_message("test", "a", t("optout.back")), NIGHT)
        deliverer = RecordingDeliverer()
        night = OutboxSender(
            app.store, deliverer, app.engine.text, "vi", app.evidence.path,
            pace=Pace(1000, 0), quiet_hours=app.settings.quiet_hours, clock=lambda: NIGHT,
        )  # fmt: skip
        assert await night.flush() == 1
        assert [d.text for d in deliverer.sent] == [
            "Sẽ nhận lại tin thông báo của phong trào và lời nhắc."
        ]
        morning = OutboxSender(
            app.store, deliverer, app.engine.text, "vi", app.evidence.path,
            pace=Pace(1000, 0), quiet_hours=app.settings.quiet_hours,
            clock=lambda: NIGHT + timedelta(hours=9),  # 07:00
        )  # fmt: skip
        assert await morning.flush() == 4
    finally:
        await app.close()


async def test_blocked_users_are_marked_and_excluded_and_429_is_honoured(app: App) -> None:
    await people(app)
    async with app.store.transaction() as uow:
        first = await create_broadcast(uow, "Một", {"channel": "test"}, "cli", NOW)
    deliverer = RecordingDeliverer(failures=[RateLimited(0), Unreachable("blocked")])
    sender = OutboxSender(
        app.store, deliverer, app.engine.text, "vi", app.evidence.path,
        pace=Pace(1000, 0), clock=lambda: NOW,
    )  # fmt: skip
    await sender.flush()  # a: 429 (postponed), b: 403 (blocked), c, e: sent
    await sender.flush()  # a again
    async with app.store.transaction() as uow:
        report = await uow.broadcasts.report(first.id)
        second = await create_broadcast(uow, "Hai", {"channel": "test"}, "cli", NOW)
    assert report == {"sent": 3, "failed": 0, "blocked": 1, "pending": 0, "cancelled": 0}
    assert second.recipients == 3  # the blocked account is left out


async def test_opt_out_and_back_in(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    assert await count(app) == 1
    await chat.send("/stop")  # asks first
    chat.expect("Ngừng nhận tin thông báo của phong trào", choices=["/stop !", "/subscribe"])
    assert await count(app) == 1
    await chat.press("/stop !")
    chat.expect("Đã ngừng gửi tin thông báo", "/subscribe")
    assert await count(app) == 0
    await chat.send("/start")  # no longer re-subscribes silently
    assert await count(app) == 0
    await chat.send("/subscribe")
    chat.expect("Sẽ nhận lại tin thông báo")
    assert await count(app) == 1


async def test_words_that_fold_to_dung_do_not_opt_out(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    for typed in ("Đúng", "đúng", "Dũng", "dung", "Trần Văn Dũng", "dừng ở chỉ số 3"):
        await chat.send(typed)
        assert "Ngừng nhận" not in chat.text, typed
    assert await count(app) == 1
    await chat.send("dừng")  # the whole message, with its diacritics: the command, confirmed
    chat.expect("Ngừng nhận tin thông báo", choices=["/stop !", "/subscribe"])
    await chat.send("vẫn nhận")
    assert await count(app) == 1
    await chat.send("Dừng lại đi")  # with a particle: the same command
    chat.expect("Ngừng nhận tin thông báo")


async def test_reminders_follow_the_rules_once_each(any_app: App) -> None:
    app = any_app
    await people(app)  # b has a draft updated at NOW; a and e have not started (registered -5 d)
    scheduler = Scheduler(app.store, (), reminders=Reminders(), clock=lambda: NOW)

    async def tick(at: datetime) -> list[str]:
        scheduler._clock = lambda: at
        scheduler._last_reminders = None  # each call stands for a later hourly scan
        await scheduler.tick()
        async with app.store.transaction() as uow:
            rows = await uow.outbox.due("test", datetime(2100, 1, 1, tzinfo=UTC), 100)
        return sorted(
            f"{r.message.external_id}:{r.message.payload['text']['key']}"
            for r in rows
            if r.message.kind == "reminder"
        )

    assert await tick(NOW) == ["a:note.reminder.start", "e:note.reminder.start"]
    assert await tick(NOW + timedelta(days=1)) == ["a:note.reminder.start", "e:note.reminder.start"]
    after = ["a:note.reminder.start", "b:note.reminder.progress", "e:note.reminder.start"]
    assert await tick(NOW + timedelta(days=3, hours=1)) == after
    assert await tick(NOW + timedelta(days=4)) == after  # not twice
    second = [*after[:2], "b:note.reminder.progress", after[2]]
    assert await tick(NOW + timedelta(days=6, hours=1)) == second
    third = [*second[:3], "b:note.reminder.progress", second[3]]
    assert await tick(NOW + timedelta(days=9, hours=1)) == third
    assert await tick(NOW + timedelta(days=30)) == third  # at most three


def test_the_rate_limiter_keeps_every_window_within_the_limit() -> None:
    import asyncio

    clock = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    async def run() -> list[float]:
        pace = Pace(per_second=10, per_chat_interval=1.0)
        limiter = RateLimiter(pace, clock=lambda: clock[0], sleep=fake_sleep)
        stamps = []
        for n in range(50):
            limiter.done(await limiter.acquire(f"chat{n % 25}"))  # back at once
            stamps.append(clock[0])
        return stamps

    stamps = asyncio.run(run())
    for start in stamps:
        assert sum(1 for s in stamps if start <= s < start + 1.0) <= 10
    assert stamps[-1] < 5.5  # 50 messages at 10/s: the limiter does not crawl either


def test_a_429_pauses_its_chat_and_only_clustered_429s_slow_the_channel() -> None:
    import asyncio

    clock = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    async def run() -> None:
        limiter = RateLimiter(
            Pace(per_second=10, per_chat_interval=1.0), clock=lambda: clock[0], sleep=fake_sleep
        )
        limiter.done(await limiter.acquire("a"))
        limiter.throttled("a", retry_after=5.0)  # one 429: that chat waits, the others do not
        before = clock[0]
        await limiter.acquire("b")
        assert clock[0] - before < 0.2
        assert limiter.factor == 1.0 and limiter.paused_until == 0.0
        await limiter.acquire("a")
        assert clock[0] >= before + 4.9  # chat "a" waited out its retry_after
        for chat in ("c", "d", "e"):  # three within a second: the channel's own limit
            limiter.throttled(chat, retry_after=2.0)
        assert limiter.factor == 0.5
        paused_from = clock[0]
        await limiter.acquire("f")
        assert clock[0] >= paused_from + 1.9  # the whole channel paused
        clock[0] += RateLimiter.RECOVER_AFTER
        await limiter.acquire("g")
        assert limiter.factor == 0.625  # recovering by a quarter at a time

    asyncio.run(run())


def test_a_send_waits_for_the_one_a_rate_before_it_to_come_back() -> None:
    """However late the first request arrives, the rate-th one after it starts a WINDOW after
    it came back: the platform never receives more than the rate in a second."""
    import asyncio

    clock = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    async def run() -> None:
        limiter = RateLimiter(Pace(per_second=5, per_chat_interval=0.0), clock=lambda: clock[0],
                              sleep=fake_sleep)  # fmt: skip
        first = await limiter.acquire("a")
        sends = [await limiter.acquire(f"c{n}") for n in range(4)]
        for send in sends:
            limiter.done(send)
        clock[0] = 3.0  # the first request is slow to come back (a new connection …)
        limiter.done(first)
        await limiter.acquire("late")
        assert clock[0] >= 3.0 + RateLimiter.WINDOW

    asyncio.run(run())

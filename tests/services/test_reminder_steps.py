"""Reminders as campaign steps the admins edit, on both databases: the first run writes the
configured defaults as rows; `cdht reminder list` shows each with how many people it would
remind now (nothing sent); changing a step's days or turning it off changes exactly who is
reminded; a declaration returned and not resubmitted gets its own reminder, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.__main__ import main
from bot.app import App, reminder_rules
from bot.services.schedule import Scheduler
from tests.conftest import make_settings, started_app
from tests.domain.usecases.test_declarations import answered, citizen_of

NOW = datetime.now(UTC)


async def people(app: App) -> None:
    """a: registered 5 days ago, not started; b: a draft untouched for 4 days; c: returned for
    more 8 days ago and not resubmitted."""
    async with app.store.transaction() as uow:
        a = await citizen_of(uow, "a")
        b = await citizen_of(uow, "b")
        c = await citizen_of(uow, "c")
        draft = await answered(uow, b)
        returned = await answered(uow, c)
    async with app.store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE citizens SET registered_at = :at"), {"at": NOW - timedelta(days=5)}
        )
        await conn.execute(
            text("UPDATE declarations SET updated_at = :at, year = :year WHERE id = :id"),
            {"at": NOW - timedelta(days=4), "id": draft.id, "year": NOW.year},
        )
        await conn.execute(
            text(
                "UPDATE declarations SET status = 'returned', updated_at = :at, year = :year "
                "WHERE id = :id"
            ),
            {"at": NOW - timedelta(days=8), "id": returned.id, "year": NOW.year},
        )
    assert a.id != b.id != c.id


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str, str]]:
    """`cdht reminder list`'s rows by «event days»: (id, on/off, count now)."""
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        number, event, words, state, count = line.split("\t")
        rows[f"{event} {words.split()[0]}"] = (number, state, count)
    return rows


async def test_steps_are_rows_the_admin_edits_with_the_count_each_reaches(
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    app = await started_app(settings)
    try:
        await people(app)
    finally:
        await app.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDHT_DATABASE_URL", database_url)

    def cdht(*args: str) -> int:
        return main(["reminder", *args])

    assert await asyncio.to_thread(cdht, "list") == 0
    steps = listed(capsys)
    # the configured defaults, written on the first run; each counted as the scheduler would
    assert {k: (v[1], v[2]) for k, v in steps.items()} == {
        "idle 3": ("on", "1 now"), "idle 6": ("on", "0 now"), "idle 9": ("on", "0 now"),
        "registered 2": ("on", "1 now"), "returned 7": ("on", "1 now"),
    }  # fmt: skip
    assert await asyncio.to_thread(cdht, "set", steps["returned 7"][0], "--days", "10") == 0
    after = listed(capsys)
    assert after["returned 10"][2] == "0 now"  # returned 8 days ago: not yet
    assert await asyncio.to_thread(cdht, "set", steps["returned 7"][0], "--days", "7") == 0
    capsys.readouterr()
    assert await asyncio.to_thread(cdht, "set", steps["registered 2"][0], "--off") == 0
    assert listed(capsys)["registered 2"][1:] == ("off", "0 now")
    assert await asyncio.to_thread(cdht, "add", "--event", "idle", "--days", "3") == 1
    assert "a idle step of 3 days exists already" in capsys.readouterr().err
    assert await asyncio.to_thread(cdht, "set", "999", "--days", "4") == 1
    capsys.readouterr()

    app = await started_app(settings)
    try:
        scheduler = Scheduler(app.store, (), reminders=reminder_rules(settings))
        for _ in range(2):  # the second run sends nothing again
            scheduler._last_reminders = None
            await scheduler.tick()
        async with app.store.transaction() as uow:
            rows = await uow.outbox.due("test", NOW + timedelta(days=1), 100)
            rows = [*rows, *await uow.outbox.due("telegram", NOW + timedelta(days=1), 100)]
            counts = await scheduler.step_counts(uow, NOW)
        sent = sorted(
            f"{r.message.external_id}:{r.message.payload['text']['key']}"
            for r in rows
            if r.message.kind == "reminder"
        )
        # a is not reminded (its step is off); b once for its draft; c once for its return
        assert sent == ["b:note.reminder.progress", "c:note.reminder.returned"]
        assert set(counts.values()) == {0}  # everyone due has been reminded
    finally:
        await app.close()

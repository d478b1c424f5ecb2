"""The hot statements on the driver (``storage/driver.py``) give what SQLAlchemy gives: the same
scenario of repository calls runs once on the driver and once with the driver turned off, on
SQLite and on PostgreSQL, and every value returned and every row stored is compared. The test
also counts the statements the driver ran, so that a SQLAlchemy release whose compiled form no
longer suits it (its positional names, its processors) fails here instead of silently slowing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

import storage.driver
from bot.engine.ports import Conversation, OutboxMessage, StorageUnavailable
from storage import SqlStore, create_engine, upgrade
from tests.storage.test_repositories import new_citizen

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
# columns the repositories fill from the clock, not from their arguments
CLOCK_COLUMNS = {"conversations": ("updated_at",), "processed_updates": ("processed_at",)}


@pytest.fixture
def driver_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of each statement compiled for the driver."""
    calls: list[str] = []
    real = storage.driver.arguments

    def counted(compiled: storage.driver.Compiled, parameters: Any) -> list[Any]:
        calls.append(compiled.sql)
        return real(compiled, parameters)

    monkeypatch.setattr(storage.driver, "arguments", counted)
    monkeypatch.setattr("storage.writer.arguments", counted)  # imported by name there
    return calls


async def scenario(store: SqlStore) -> dict[str, Any]:
    """Repository calls an update makes, with values that test the types (JSON with Vietnamese
    text and nesting, times with a zone, NULLs); what they returned and what was stored."""
    seen: dict[str, Any] = {}
    async with store.transaction() as uow:
        seen["claimed"] = await uow.updates.claim("telegram", "42", "7", inboxed=True)
        seen["again"] = await uow.updates.claim("telegram", "42", "7", inboxed=False)
        identity = await uow.identities.create("telegram", "42", "vi")
        citizen = await uow.citizens.create(new_citizen(), NOW)
        await uow.identities.bind(identity.id, citizen.id)
        values = {"name": "Nguyễn Thị Hoa", "scores": {"1": 7}, "note": None, "tags": ["ạ", 2]}
        await uow.conversations.save(
            Conversation(identity.id, "declaration", "score", values, ("start", "ward"), 3)
        )
        message = OutboxMessage(
            "telegram", "42", {"text": {"key": "x", "params": {"tên": "Hoa"}}}, "reply",
            subject_id=citizen.id, not_before=NOW + timedelta(seconds=30),
        )  # fmt: skip
        seen["outbox id"] = await uow.outbox.add(message, NOW) > 0
        delivered = await uow.outbox.add(message, NOW)
        await uow.outbox.delete([delivered])  # acknowledged: only the first is left
        declaration = await uow.declarations.create(citizen.id, 2026, "2025", NOW)
        await uow.declarations.set_score(declaration.id, 3, 8, NOW)
        await uow.declarations.set_note(declaration.id, 3, "Đọc sách mỗi tối", NOW)
        await uow.declarations.set_score(declaration.id, 4, None, NOW)
    async with store.transaction() as uow:
        await uow.updates.claim("telegram", "42", "8")
        loaded = await uow.identities.load("telegram", "42")
        seen["load"] = loaded
        seen["conversation"] = await uow.conversations.get(identity.id)
        seen["citizen"] = await uow.citizens.get(citizen.id)
        seen["declaration"] = await uow.declarations.for_year(citizen.id, 2026)
        seen["answers"] = await uow.declarations.answers(declaration.id)
    async with store.engine.connect() as conn:
        for table in ("outbox", "conversations", "declaration_answers", "processed_updates"):
            rows = await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))  # noqa: S608
            seen[table] = [
                {k: v for k, v in row.items() if k not in CLOCK_COLUMNS.get(table, ("id",))}
                for row in rows.mappings()
            ]
    return seen


async def run(url: str) -> dict[str, Any]:
    store = SqlStore(create_engine(url))
    try:
        await upgrade(store.engine)
        return await scenario(store)
    finally:
        await store.close()


async def test_the_driver_stores_and_reads_what_sqlalchemy_does(
    database_url: str, driver_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    on_driver = await run(database_url)
    ran = list(driver_calls)
    assert len(ran) >= 8, ran  # the claim (SQLite), load, upserts, the outbox's insert ...
    assert any("INSERT INTO outbox" in sql for sql in ran)
    if database_url.startswith("postgresql"):  # an array, not an expanding IN list
        assert any(sql.startswith("DELETE FROM outbox WHERE outbox.id = ANY") for sql in ran), ran
        # the conversation's upsert went with the reply's insert, in one statement
        assert any(
            sql.startswith("WITH held AS \n(INSERT INTO conversations")
            and "INSERT INTO outbox" in sql
            for sql in ran
        ), ran
    assert any("conversations" in sql and "identities" in sql for sql in ran)  # the load

    if database_url.startswith("postgresql"):
        from tests.conftest import reset_postgres

        await reset_postgres(database_url)
        second = database_url
    else:
        second = database_url.replace("test.sqlite3", "second.sqlite3")
    monkeypatch.setattr(storage.driver, "compiled_for", lambda *_: None)
    monkeypatch.setattr("storage.writer.compiled_for", lambda *_: None)
    driver_calls.clear()
    through_sqlalchemy = await run(second)
    assert driver_calls == []
    assert on_driver == through_sqlalchemy
    assert on_driver["claimed"] and not on_driver["again"]  # its rowcount, read from the driver
    identity, citizen, conversation = on_driver["load"]
    assert conversation.values["name"] == "Nguyễn Thị Hoa" and conversation.history == (
        "start",
        "ward",
    )
    assert citizen.full_name == "Nguyễn Văn Cừ" and identity.subject_id == citizen.id
    assert on_driver["answers"][3].note == "Đọc sách mỗi tối"


async def test_a_connection_lost_under_the_driver_means_unavailable_not_a_failure(
    database_url: str,
) -> None:
    """PostgreSQL: the server ends the session between two statements of an update (a restart,
    ``pg_terminate_backend``): the unit of work raises ``StorageUnavailable``, so that the
    update waits in place and is tried again, as through SQLAlchemy, instead of being answered
    with an apology and consumed."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no session to lose")
    store = SqlStore(create_engine(database_url))
    try:
        await upgrade(store.engine)
        with pytest.raises(StorageUnavailable):
            async with store.transaction() as uow:
                await uow.updates.claim("telegram", "42", "1")
                async with store.engine.connect() as other:
                    await other.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND state LIKE 'idle in transaction%'"
                        )
                    )
                await uow.identities.load("telegram", "42")  # on the driver
        # the lost connection was not given back to the pool (which hands out its connections
        # in turn): the next updates are handled
        for update_id in ("1", "2", "3"):
            async with store.transaction() as uow:
                assert await uow.updates.claim("telegram", "42", update_id)
    finally:
        await store.close()


# -- the units of work's kept connections (PostgreSQL) -----------------------------------------


async def _backend(uow: Any) -> int:
    return int(await uow.updates._conn.scalar(text("SELECT pg_backend_pid()")))


async def _alive(store: SqlStore, pids: set[int]) -> set[int]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT pid FROM pg_stat_activity"))
        return pids & {pid for (pid,) in rows}


async def test_units_of_work_keep_their_connections_and_never_more_than_the_limit(
    database_url: str,
) -> None:
    """One update after another runs on the same session (no check-out, reset and check-in of
    SQLAlchemy's pool each time); many at once use at most ``POSTGRES_UNITS_AT_ONCE`` sessions,
    the others wait their turn; closing the store ends every session it kept."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs its units of work on its one writer")
    from storage.db import POSTGRES_UNITS_AT_ONCE

    store = SqlStore(create_engine(database_url))
    closed = False
    try:
        await upgrade(store.engine)
        one_after_another = set()
        for update_id in range(5):
            async with store.transaction() as uow:
                assert await uow.updates.claim("telegram", "42", str(update_id), inboxed=False)
                one_after_another.add(await _backend(uow))
        assert len(one_after_another) == 1

        inside = most = 0
        at_once: set[int] = set()

        async def slow(n: int) -> None:
            nonlocal inside, most
            async with store.transaction() as uow:
                inside += 1
                most = max(most, inside)
                await uow.updates._conn.execute(text("SELECT pg_sleep(0.02)"))
                await uow.updates.claim("telegram", str(n), f"c{n}", inboxed=False)
                at_once.add(await _backend(uow))
                inside -= 1

        await asyncio.gather(*(slow(n) for n in range(3 * POSTGRES_UNITS_AT_ONCE)))
        assert most == POSTGRES_UNITS_AT_ONCE
        assert len(at_once) <= POSTGRES_UNITS_AT_ONCE
        async with store.transaction() as uow:  # every update of the crowd was committed
            handled = await uow.updates._conn.scalar(
                text("SELECT count(*) FROM processed_updates WHERE update_id LIKE 'c%'")
            )
        assert handled == 3 * POSTGRES_UNITS_AT_ONCE

        kept = at_once | one_after_another
        assert await _alive(store, kept)
        await store.close()
        closed = True
        probe = SqlStore(create_engine(database_url))
        try:
            for _ in range(100):  # a session ends a moment after its client closed it
                if not await _alive(probe, kept):
                    break
                await asyncio.sleep(0.02)
            assert not await _alive(probe, kept)
        finally:
            await probe.close()
    finally:
        if not closed:
            await store.close()


async def test_a_unit_of_work_cancelled_midway_leaves_no_transaction_open(
    database_url: str,
) -> None:
    """An update cancelled between two statements (the channel stopping, a timeout): what it
    wrote is not committed, its session is not kept in the middle of a transaction, and the
    next unit of work runs and commits."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs its units of work on its one writer")
    store = SqlStore(create_engine(database_url))
    try:
        await upgrade(store.engine)
        midway = asyncio.Event()

        async def stuck() -> None:
            async with store.transaction() as uow:
                await uow.updates.claim("telegram", "42", "1", inboxed=False)
                midway.set()
                await asyncio.Event().wait()

        task = asyncio.ensure_future(stuck())
        await midway.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(3):
            async with store.transaction() as uow:
                assert not await uow.updates.handled("telegram", "1")
                assert (
                    await uow.updates._conn.scalar(text("SELECT now() = statement_timestamp()"))
                    is False
                )
        async with store.transaction() as uow:
            assert await uow.updates.claim("telegram", "42", "1", inboxed=False)
        async with store.transaction() as uow:
            assert await uow.updates.handled("telegram", "1")
    finally:
        await store.close()


async def test_a_kept_connection_past_its_age_goes_back_to_the_pool(database_url: str) -> None:
    """A connection older than ``recycle`` is given back to SQLAlchemy's pool after its unit of
    work (whose ``pool_recycle`` replaces it) rather than kept."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs its units of work on its one writer")
    from storage.driver import PostgresConnections

    engine = create_engine(database_url)
    try:
        for recycle, kept in ((1800.0, 1), (0.0, 0)):
            connections = PostgresConnections(engine, size=2, recycle=recycle)
            async with connections.transaction() as conn:
                assert await conn.scalar(text("SELECT 1")) == 1
            assert engine.sync_engine.pool.checkedout() == kept  # type: ignore[attr-defined]
            await connections.close()
            assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_one_users_updates_wait_for_each_other_and_read_what_the_first_committed(
    database_url: str,
) -> None:
    """PostgreSQL, updates of one user handled at once (several processes): the user's lock
    goes with the first update's BEGIN; the others wait at their claim until it commits, then
    read the conversation it saved (not what was there when they started), and a second delivery
    of the first update finds it handled. Another user's update does not wait."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: its transactions never overlap")
    store = SqlStore(create_engine(database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            identity = await uow.identities.create("telegram", "42", "vi")
            await uow.conversations.save(
                Conversation(identity.id, "registration", "one", {}, (), 1)
            )
        holding, release = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with store.transaction() as uow:
                assert await uow.updates.claim("telegram", "42", "1", inboxed=False)
                _, _, conversation = await uow.identities.load("telegram", "42")
                assert conversation is not None and conversation.step == "one"
                holding.set()
                await release.wait()
                await uow.conversations.save(replace(conversation, step="two", seq=2))

        seen: list[tuple[str, bool, str | None]] = []

        async def later(update_id: str) -> None:
            async with store.transaction() as uow:
                claimed = await uow.updates.claim("telegram", "42", update_id, inboxed=False)
                _, _, conversation = await uow.identities.load("telegram", "42")
                seen.append((update_id, claimed, conversation.step if conversation else None))

        held = asyncio.ensure_future(first())
        await holding.wait()
        async with asyncio.timeout(10):  # another user: not held up
            async with store.transaction() as uow:
                assert await uow.updates.claim("telegram", "43", "9", inboxed=False)
        waiting = [asyncio.ensure_future(later("2")), asyncio.ensure_future(later("1"))]
        async with store.engine.connect() as conn:
            for _ in range(500):  # until both wait for the lock
                blocked = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    )
                )
                if blocked == 2:
                    break
                await asyncio.sleep(0.01)
        assert blocked == 2 and seen == []
        release.set()
        await held
        await asyncio.gather(*waiting)
        assert sorted(seen) == [("1", False, "two"), ("2", True, "two")]
    finally:
        await store.close()


async def test_a_write_held_for_the_next_statement_is_never_lost_nor_read_stale(
    database_url: str,
) -> None:
    """The conversation's upsert waits for the next statement on PostgreSQL
    (``PostgresConnection.execute_later``): a read that follows it sees it, a transaction that
    ends after it commits it, one rolled back does not, and an insert into another table takes
    it along. The same holds on SQLite, where it runs at once."""
    store = SqlStore(create_engine(database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            identity = await uow.identities.create("telegram", "42", "vi")
        talk = Conversation(identity.id, "registration", "one", {"tên": "Hoa"}, (), 1)

        async with store.transaction() as uow:  # read right after
            await uow.conversations.save(talk)
            assert await uow.conversations.get(identity.id) == talk
        async with store.transaction() as uow:  # nothing after it but the COMMIT
            await uow.conversations.save(replace(talk, step="two", seq=2))
        async with store.transaction() as uow:
            assert (await uow.conversations.get(identity.id)).step == "two"  # type: ignore[union-attr]

        class Undone(Exception):
            pass

        with pytest.raises(Undone):
            async with store.transaction() as uow:  # rolled back: never written
                await uow.conversations.save(replace(talk, step="three", seq=3))
                raise Undone
        async with store.transaction() as uow:  # taken along by the reply's insert
            await uow.conversations.save(replace(talk, step="four", seq=4))
            message = OutboxMessage("telegram", "42", {"text": "x"}, "reply", not_before=NOW)
            reply = await uow.outbox.add(message, NOW)
        async with store.transaction() as uow:
            assert (await uow.conversations.get(identity.id)).step == "four"  # type: ignore[union-attr]
            assert [row.id for row in await uow.outbox.due("telegram", NOW, 10)] == [reply]
    finally:
        await store.close()

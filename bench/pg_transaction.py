"""An update's transaction on PostgreSQL, in one process: what each way of running it costs the
bot's CPU (issue 21: PostgreSQL at 0.8 of SQLite end to end).

    CDHT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1/test \\
        .venv/bin/python bench/pg_transaction.py [--rounds 4] [--tasks 10] [--each 200]

The transaction is the one an update makes (``bot/engine/runner.py``: ``_handle``): the user's
advisory lock with the claim of its update id, the load of its row, the conversation's upsert,
the reply's insert into the outbox with its id returned; each in its own table created here
(``bench_*``, dropped at the end, with the what-ifs' functions). ``--tasks`` of them run at
once, ``--each`` transactions each, as an update's handling does under load. The variants,
interleaved over ``--rounds``:

- ``asyncpg``: asyncpg's own pool and transaction, nothing else: the floor for these
  statements as separate round trips (BEGIN, four statements, COMMIT);
- ``sqlalchemy-begin``: ``AsyncEngine.begin()``, its first statement through SQLAlchemy (the
  BEGIN goes with it), the rest on asyncpg's connection: how the store ran before;
- ``sqlalchemy-autocommit``: SQLAlchemy's pool checked out for each transaction, the
  connection in autocommit mode, asyncpg's transaction on it: how the store ran before;
- ``kept``: the same connections taken from SQLAlchemy's pool once and kept, asyncpg's
  transaction on them (``storage/driver.py``: ``PostgresConnections``), how the store runs now;
- ``psycopg-pipeline`` (when psycopg 3 is importable; it is not a dependency): the same
  statements in psycopg's pipeline mode, two synchronisations a transaction instead of six
  round trips (https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html).

Two what-ifs, designs the store does not have, for what they would buy:

- ``asyncpg-functions``: the claim and the load in one PL/pgSQL function, the upsert and the
  insert in another (four round trips: BEGIN, two calls, COMMIT). Each statement of a volatile
  function takes its own snapshot in READ COMMITTED, so the load still sees what was committed
  before the lock was granted (https://www.postgresql.org/docs/current/xfunc-volatility.html);
- ``asyncpg-group``: group commit, one BEGIN and one COMMIT for one transaction of each task
  (``--tasks`` updates a group, their statements one after another on one connection): the
  bound of what sharing a transaction saves, before any way of undoing one member alone.

Printed: per variant, transactions a second and the process's CPU a transaction (min / median
of the rounds). The process's CPU includes the event loop's, not PostgreSQL's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

SETUP = """
DROP TABLE IF EXISTS bench_claims, bench_conversations, bench_outbox;
CREATE TABLE bench_claims (channel text, update_id text, processed_at timestamptz,
                           PRIMARY KEY (channel, update_id));
CREATE TABLE bench_conversations (identity_id int PRIMARY KEY, flow text, step text,
                                  collected jsonb, updated_at timestamptz);
CREATE TABLE bench_outbox (id serial PRIMARY KEY, channel text, external_id text,
                           payload jsonb, created_at timestamptz);
"""
FUNCTIONS = """
CREATE OR REPLACE FUNCTION bench_claim_and_load(lock_key text, channel text, update_id text,
                                                who int)
RETURNS TABLE (claimed boolean, flow text, step text, collected jsonb) AS $$
DECLARE
    inserted int;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
    INSERT INTO bench_claims VALUES (channel, update_id, now()) ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN QUERY SELECT inserted > 0, c.flow, c.step, c.collected
        FROM (SELECT 1) AS one LEFT JOIN bench_conversations c ON c.identity_id = who;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION bench_save(who int, flow text, step text, collected jsonb,
                                      channel text, external_id text, payload jsonb)
RETURNS int AS $$
DECLARE
    row_id int;
BEGIN
    INSERT INTO bench_conversations VALUES (who, flow, step, collected, now())
        ON CONFLICT (identity_id) DO UPDATE SET flow = excluded.flow, step = excluded.step,
        collected = excluded.collected, updated_at = excluded.updated_at;
    INSERT INTO bench_outbox (channel, external_id, payload, created_at)
        VALUES (channel, external_id, payload, now()) RETURNING id INTO row_id;
    RETURN row_id;
END $$ LANGUAGE plpgsql;
"""
TEARDOWN = (
    "DROP TABLE IF EXISTS bench_claims, bench_conversations, bench_outbox; "
    "DROP FUNCTION IF EXISTS bench_claim_and_load, bench_save"
)
CLAIM = (
    "WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) "
    "INSERT INTO bench_claims (channel, update_id, processed_at) "
    "SELECT $2, $3, now() FROM locked ON CONFLICT DO NOTHING"
)
LOAD = "SELECT identity_id, flow, step, collected FROM bench_conversations WHERE identity_id = $1"
UPSERT = (
    "INSERT INTO bench_conversations (identity_id, flow, step, collected, updated_at) "
    "VALUES ($1, $2, $3, $4, now()) ON CONFLICT (identity_id) DO UPDATE SET "
    "flow = excluded.flow, step = excluded.step, collected = excluded.collected, "
    "updated_at = excluded.updated_at"
)
OUTBOX = (
    "INSERT INTO bench_outbox (channel, external_id, payload, created_at) "
    "VALUES ($1, $2, $3, now()) RETURNING id"
)
REPLY = json.dumps({"reply": {"text": "Xin cho biết năm sinh", "locale": "vi"}})


def plain(url: str) -> str:
    """The URL for asyncpg and psycopg: ``postgresql://`` without SQLAlchemy's driver name."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def statements(conn: Any, user: int, n: int, tag: str) -> None:
    """The update's statements on an asyncpg connection, in its open transaction."""
    await conn.execute(CLAIM, f"telegram:{user}", "telegram", f"{tag}-{user}-{n}")
    await conn.fetchrow(LOAD, user)
    await conn.execute(UPSERT, user, "registration", f"step{n}", json.dumps({"n": n}))
    await conn.fetchval(OUTBOX, "telegram", str(user), REPLY)


Work = Callable[[int, int, str], Awaitable[None]]


async def with_asyncpg(url: str, tasks: int) -> tuple[Work, Callable[[], Awaitable[None]]]:
    pool = await asyncpg.create_pool(plain(url), min_size=tasks, max_size=tasks)

    async def work(user: int, n: int, tag: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await statements(conn, user, n, tag)

    return work, pool.close


async def with_functions(url: str, tasks: int) -> tuple[Work, Callable[[], Awaitable[None]]]:
    pool = await asyncpg.create_pool(plain(url), min_size=tasks, max_size=tasks)

    async def work(user: int, n: int, tag: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchrow(
                "SELECT * FROM bench_claim_and_load($1, $2, $3, $4)",
                f"telegram:{user}", "telegram", f"{tag}-{user}-{n}", user,
            )  # fmt: skip
            await conn.fetchval(
                "SELECT bench_save($1, $2, $3, $4, $5, $6, $7)",
                user, "registration", f"step{n}", json.dumps({"n": n}),
                "telegram", str(user), REPLY,
            )  # fmt: skip

    return work, pool.close


async def grouped(url: str, tasks: int, each: int, tag: str) -> tuple[float, float]:
    """One transaction for one update of each task, on one connection."""
    conn = await asyncpg.connect(plain(url))
    try:
        async with conn.transaction():
            await statements(conn, 0, 0, f"{tag}-warm")
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(each):
            async with conn.transaction():
                for user in range(1, tasks + 1):
                    await statements(conn, user, n, tag)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await conn.close()
    done = tasks * each
    return done / wall, cpu / done * 1e6


async def with_sqlalchemy(
    url: str, tasks: int, *, autocommit: bool
) -> tuple[Work, Callable[[], Awaitable[None]]]:
    from sqlalchemy import text

    engine = create_async_engine(sqlalchemy_url(url), pool_size=tasks, max_overflow=2)
    claim = text(CLAIM.replace("$1", ":key").replace("$2", ":channel").replace("$3", ":update"))

    async def begin(user: int, n: int, tag: str) -> None:
        async with engine.begin() as conn:
            key = {"key": f"telegram:{user}", "channel": "telegram", "update": f"{tag}-{user}-{n}"}
            await conn.execute(claim, key)  # SQLAlchemy's BEGIN goes with it
            raw: Any = (await conn.get_raw_connection()).driver_connection
            await raw.fetchrow(LOAD, user)
            await raw.execute(UPSERT, user, "registration", f"step{n}", json.dumps({"n": n}))
            await raw.fetchval(OUTBOX, "telegram", str(user), REPLY)

    async def own(user: int, n: int, tag: str) -> None:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            raw: Any = (await conn.get_raw_connection()).driver_connection
            async with raw.transaction():
                await statements(raw, user, n, tag)

    return (own if autocommit else begin), engine.dispose


async def with_kept(url: str, tasks: int) -> tuple[Work, Callable[[], Awaitable[None]]]:
    from storage.driver import PostgresConnections

    engine = create_async_engine(sqlalchemy_url(url), pool_size=tasks, max_overflow=2)
    kept = PostgresConnections(engine, size=tasks)

    async def work(user: int, n: int, tag: str) -> None:
        async with kept.transaction() as conn:
            await statements(conn.driver, user, n, tag)

    async def close() -> None:
        await kept.close()
        await engine.dispose()

    return work, close


async def with_psycopg(url: str, tasks: int) -> tuple[Work, Callable[[], Awaitable[None]]]:
    import psycopg  # type: ignore[import-not-found]

    conns = [await psycopg.AsyncConnection.connect(plain(url)) for _ in range(tasks)]
    free: asyncio.Queue[Any] = asyncio.Queue()
    for conn in conns:
        free.put_nowait(conn)

    def pc(sql: str) -> str:
        for i in range(5, 0, -1):
            sql = sql.replace(f"${i}", "%s")
        return sql

    claim, load, upsert, outbox = pc(CLAIM), pc(LOAD), pc(UPSERT), pc(OUTBOX)

    async def work(user: int, n: int, tag: str) -> None:
        conn = await free.get()
        try:
            async with conn.pipeline(), conn.transaction():
                first, second = conn.cursor(), conn.cursor()
                await first.execute(claim, (f"telegram:{user}", "telegram", f"{tag}-{user}-{n}"))
                await second.execute(load, (user,))
                await second.fetchone()  # one synchronisation: BEGIN, claim, load
                await conn.execute(upsert, (user, "registration", f"step{n}", json.dumps({"n": n})))
                third = conn.cursor()
                await third.execute(outbox, ("telegram", str(user), REPLY))
            await third.fetchone()  # the second: upsert, insert, COMMIT
        finally:
            free.put_nowait(conn)

    async def close() -> None:
        for conn in conns:
            await conn.close()

    return work, close


async def one_run(variant: str, url: str, tasks: int, each: int, tag: str) -> tuple[float, float]:
    if variant == "asyncpg-group":
        return await grouped(url, tasks, each, tag)
    if variant == "asyncpg":
        work, close = await with_asyncpg(url, tasks)
    elif variant == "asyncpg-functions":
        work, close = await with_functions(url, tasks)
    elif variant == "psycopg-pipeline":
        work, close = await with_psycopg(url, tasks)
    elif variant == "kept":
        work, close = await with_kept(url, tasks)
    else:
        work, close = await with_sqlalchemy(
            url, tasks, autocommit=variant == "sqlalchemy-autocommit"
        )
    try:
        await work(0, 0, f"{tag}-warm")  # connections opened, types loaded
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(_user(work, user, each, tag) for user in range(1, tasks + 1)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await close()
    done = tasks * each
    return done / wall, cpu / done * 1e6


async def _user(work: Work, user: int, each: int, tag: str) -> None:
    for n in range(each):
        await work(user, n, tag)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("CDHT_TEST_POSTGRES_URL"))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--each", type=int, default=200)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("give --database-url or set CDHT_TEST_POSTGRES_URL (a PostgreSQL database)")
    variants = ["asyncpg", "sqlalchemy-begin", "sqlalchemy-autocommit", "kept"]
    variants += ["asyncpg-functions", "asyncpg-group"]
    try:
        import psycopg  # noqa: F401

        variants.append("psycopg-pipeline")
    except ImportError:
        print("psycopg is not installed: its pipeline mode is left out")
    conn = await asyncpg.connect(plain(args.database_url))
    try:
        await conn.execute(SETUP)
        await conn.execute(FUNCTIONS)
        seen: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for number in range(args.rounds):
            for variant in variants:
                figures = await one_run(
                    variant, args.database_url, args.tasks, args.each, f"{variant}{number}"
                )
                seen[variant].append(figures)
                print(f"  round {number + 1} {variant:<22} {figures[0]:7.0f} tx/s "
                      f"{figures[1]:6.0f} µs CPU a transaction", flush=True)  # fmt: skip
    finally:
        await conn.execute(TEARDOWN)
        await conn.close()
    print(
        f"\n{args.tasks} at once, {args.each} each, {args.rounds} rounds interleaved "
        f"(min / median):\n\n| variant | transactions/s | CPU µs a transaction |\n|---|---|---|"
    )
    for variant, runs in seen.items():
        rates = [rate for rate, _ in runs]
        cpus = [cpu for _, cpu in runs]
        print(
            f"| {variant} | {min(rates):.0f} / {statistics.median(rates):.0f} "
            f"| {min(cpus):.0f} / {statistics.median(cpus):.0f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())

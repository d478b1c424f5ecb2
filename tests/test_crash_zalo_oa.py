"""kill -9 during a burst of Zalo Official Account events, then a restart on the same data
(SQLite and PostgreSQL): every event the webhook acknowledged is handled exactly once, every
event it did not acknowledge is posted again after the restart (as Zalo retries) and handled
once too, even one the killed bot had stored, every citizen gets the answer to their last
message, and no refresh token is spent twice.

`cdht run` runs as a real process; the fake OA platform (tests/fakes/zalo_oa.py) runs in the
test's process and plays Zalo's part: it posts the signed events to ``/zalo-oa`` and takes the
consultation messages the bot sends back.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.handlers.zalo_oa.client import OaApi
from bot.handlers.zalo_oa.tokens import ConnectedOa, OaTokens
from storage import SqlStore, create_engine
from storage.db import is_sqlite
from tests.fakes.zalo_oa import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZaloOA
from tests.test_crash import Bot

LE_CHAN = "11383"
OA = "4321000000000000001"  # the Official Account of Phường Lê Chân
USERS = 40
DROPPED = 3  # events stored by the bot whose 200 the platform never read
TIMEOUT = 60.0  # a safety net against hanging; no speed is asserted
HANDLED = "SELECT update_id FROM processed_updates WHERE channel = 'zalo_oa'"
WAITING = "SELECT update_id FROM inbox WHERE channel = 'zalo_oa'"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOA]:
    server = await FakeZaloOA().start()
    server.add_oa(OA, "Phường Lê Chân")
    yield server
    await server.stop()


def bot_for(fake: FakeZaloOA, tmp_path: Path, database_url: str) -> tuple[Bot, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
    env.update(
        CDHT_DATA_DIR=str(tmp_path),
        CDHT_DATABASE_URL=database_url,
        CDHT_ZALO_OA_APP_ID=APP_ID,
        CDHT_ZALO_OA_APP_SECRET=APP_SECRET,
        CDHT_ZALO_OA_SECRET_KEY=OA_SECRET_KEY,
        CDHT_ZALO_OA_API_URL=fake.url,
        CDHT_ZALO_OA_OAUTH_URL=fake.url,
        CDHT_ZALO_OA_BUSINESS_URL=fake.url,
        CDHT_WEBHOOK_PORT=str(port),
        CDHT_FLOOD_BURST="1000",  # scripted users type faster than people
    )
    return Bot(env, tmp_path, tmp_path / "bot"), port


async def connect_oa(fake: FakeZaloOA, database_url: str) -> ConnectedOa:
    """What ``cdht zalo-oa connect --ward 11383 --refresh-token TOKEN`` does, in this process
    (a second interpreter would add a second to the test; tests/handlers/zalo_oa/ runs the
    command itself)."""
    store = SqlStore(create_engine(database_url))
    tokens = OaTokens(OaApi(APP_ID, APP_SECRET, api_url=fake.url, oauth_url=fake.url), store)
    try:
        return await tokens.connect(LE_CHAN, fake.grant(OA))
    finally:
        await tokens.api.close()
        await store.close()


async def listening(bot: Bot, port: int) -> None:
    """Until the bot's web server takes connections (its process must stay alive)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            assert bot.process is not None
            if bot.process.returncode is not None:
                raise AssertionError(bot.log.with_suffix(f".{bot.starts}.log").read_text())
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


async def read(database_url: str, query: str, **params: str) -> list[tuple[Any, ...]]:
    """Rows of ``query``, also while the bot runs: on SQLite through a read-only connection
    of its own (the store's connections take the write lock, which the bot needs)."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":

        def rows() -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)) as db:
                return list(db.execute(query, params))

        return await asyncio.to_thread(rows)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(query), params)]
    finally:
        await engine.dispose()


async def stored(database_url: str, msg_id: str) -> bool:
    """Whether the bot stored the event (handled or waiting in the inbox)."""
    query = f"{HANDLED} AND update_id = :id UNION ALL {WAITING} AND update_id = :id"
    return bool(await read(database_url, query, id=msg_id))


async def unsettled_replies(database_url: str) -> dict[int, tuple[str, str]]:
    """The replies stored and not yet confirmed delivered: id -> (chat, text)."""
    found = {}
    for row_id, chat, payload in await read(
        database_url, "SELECT id, external_id, payload FROM outbox WHERE kind = 'reply'"
    ):
        reply = (payload if isinstance(payload, dict) else json.loads(payload))["reply"]
        found[int(row_id)] = (str(chat), str(reply["text"]))
    return found


async def settled(database_url: str, allowed: set[int]) -> None:
    """Until no reply is left to send but those in ``allowed``."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            if not set(await unsettled_replies(database_url)) - allowed:
                return
            await asyncio.sleep(0.1)


@dataclass
class Platform:
    """Zalo's side of the webhook: an event is posted until the bot answers 200; one that got
    no 200 (refused, cut off, nobody listening, or its answer never read) is posted again once
    the bot is back, and one acknowledged is never posted again."""

    fake: FakeZaloOA
    url: str
    database_url: str
    up: asyncio.Event = field(default_factory=asyncio.Event)  # the bot is there
    restarted: asyncio.Event = field(default_factory=asyncio.Event)
    drop: int = 0  # the next events whose answer is not read once the bot stored them
    dropped: list[str] = field(default_factory=list)
    all_dropped: asyncio.Event = field(default_factory=asyncio.Event)
    acknowledged: list[str] = field(default_factory=list)  # msg ids, in order
    unanswered: list[str] = field(default_factory=list)  # msg ids posted without a 200
    statuses: dict[str, int] = field(default_factory=dict)  # what came back instead, counted

    async def post(self, raw: bytes, headers: dict[str, str]) -> None:
        msg_id = str(json.loads(raw)["message"]["msg_id"])
        assert msg_id not in self.acknowledged  # never posted again once acknowledged
        if self.drop > 0:
            self.drop -= 1
            await self._post_unread(raw, headers, msg_id)
            await self.restarted.wait()
        while True:
            await self.up.wait()
            try:
                status = await self.fake.post_event(self.url, raw, headers)
            except aiohttp.ClientError as exc:
                status, what = 0, type(exc).__name__
            else:
                what = str(status)
            if status == 200:
                self.acknowledged.append(msg_id)
                return
            self.unanswered.append(msg_id)
            self.statuses[what] = self.statuses.get(what, 0) + 1
            if self.up.is_set():  # the bot answered, but not 200: Zalo waits, then retries
                await asyncio.sleep(0.2)

    async def _post_unread(self, raw: bytes, headers: dict[str, str], msg_id: str) -> None:
        """Post the event, wait until the bot stored it, and hang up without reading the
        answer: Zalo's wait ran out, so for Zalo the event was not delivered."""
        where = urlsplit(self.url)
        host, port = where.hostname or "127.0.0.1", where.port or 80
        _, writer = await asyncio.open_connection(host, port)
        lines = [
            f"POST {where.path} HTTP/1.1",
            f"Host: {host}:{port}",
            f"Content-Length: {len(raw)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + raw)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            while True:
                if await stored(self.database_url, msg_id):
                    break
                await asyncio.sleep(0.02)
        writer.close()
        self.unanswered.append(msg_id)
        self.statuses["answer not read"] = self.statuses.get("answer not read", 0) + 1
        self.dropped.append(msg_id)
        if self.drop == 0 and len(self.dropped) == DROPPED:
            self.all_dropped.set()


@dataclass
class Citizen:
    user: str
    number: int

    @property
    def name(self) -> str:
        return "Người Thử " + "".join("ABCDEGHIKL"[int(d)] for d in f"{self.number:03d}").title()

    @property
    def phone(self) -> str:
        return f"0912 345 {self.number:03d}"

    @property
    def intl_phone(self) -> str:
        return f"+84912345{self.number:03d}"

    def script(self) -> list[str]:
        return [
            "xin chào", "1", "đồng ý", "có", "không", "nguoi dan o phuong/xa", self.name,
            "1961", "1", self.phone, "1", "Tổ 7", "Đúng",
        ]  # fmt: skip


async def replies_to(
    fake: FakeZaloOA, platform: Platform, user: str, answer: str, done: Callable[[str], bool]
) -> None:
    """Post the user's answer, then wait for the bot's reply that ``done`` recognises."""
    start = len(fake.calls)
    raw, headers = fake.event(OA, user, text=answer)

    def answered() -> bool:
        return any(
            done(str(call.body.get("message", {}).get("text", "")))
            for call in fake.calls[start:]
            if call.path == "cs"
            and call.body.get("_ok")
            and call.body.get("recipient", {}).get("user_id") == user
        )

    await platform.post(raw, headers)
    await fake.wait_for(answered, TIMEOUT)


async def register(
    fake: FakeZaloOA, platform: Platform, citizen: Citizen, expected: list[str]
) -> None:
    """The citizen's registration, each answer posted once the reply to the one before came
    (each reply is told apart exactly: a reply sent again after the restart does not pass for
    the next one)."""
    for answer, reply in zip(citizen.script(), expected, strict=True):
        await replies_to(fake, platform, citizen.user, answer, reply.__eq__)


async def reference_replies(fake: FakeZaloOA, platform: Platform, citizen: Citizen) -> list[str]:
    """One registration alone, before the burst: the reply to each answer, as one run gives."""
    replies = []
    for answer in citizen.script():
        before = len(fake.sent(citizen.user))
        await replies_to(fake, platform, citizen.user, answer, lambda _: True)
        (reply,) = fake.sent(citizen.user)[before:]
        replies.append(reply)
    assert len(set(replies)) == len(replies)  # each step's reply is told apart from the others
    return replies


def replies_of(reference: list[str], model: Citizen, citizen: Citizen) -> list[str]:
    return [
        reply.replace(model.name, citizen.name).replace(model.phone, citizen.phone)
        for reply in reference
    ]


@dataclass
class Figures:
    events: int = 0
    acknowledged_at_kill: int = 0
    inbox_at_kill: int = 0
    replies_at_kill: int = 0
    posted_again: int = 0
    stored_unanswered: int = 0  # posted again although the killed bot had stored them
    repeated_replies: int = 0
    leased: int = 0  # replies in flight at the kill, still leased when the bot stopped


async def test_kill_9_during_a_burst_of_oa_events_loses_nothing(
    fake: FakeZaloOA,
    tmp_path: Path,
    database_url: str,
    record_property: Callable[..., None],
) -> None:
    bot, port = bot_for(fake, tmp_path, database_url)
    connected = await connect_oa(fake, database_url)
    assert (connected.oa_id, connected.name, connected.ward_code) == (OA, "Phường Lê Chân", LE_CHAN)
    platform = Platform(fake, f"http://127.0.0.1:{port}/zalo-oa", database_url)
    model = Citizen("oa-user-7000", 0)
    citizens = [Citizen(f"oa-user-{7000 + n}", n) for n in range(1, USERS + 1)]
    figures = Figures()
    await bot.start()
    await listening(bot, port)
    platform.up.set()
    reference = await reference_replies(fake, platform, model)
    steps = len(reference)
    burst = asyncio.gather(
        *(register(fake, platform, c, replies_of(reference, model, c)) for c in citizens)
    )
    try:
        # once about a third of the burst's events were acknowledged, the next few are stored
        # by the bot but their answers lost (Zalo posts them again); then kill
        await fake.wait_for(lambda: len(platform.acknowledged) >= steps * (1 + USERS // 3))
        platform.drop = DROPPED
        await asyncio.wait_for(platform.all_dropped.wait(), TIMEOUT)
        platform.up.clear()  # from here Zalo holds what it could not deliver
        await bot.kill()
        figures.acknowledged_at_kill = len(platform.acknowledged) - steps
        done = {u for (u,) in await read(database_url, HANDLED)}
        waiting = {u for (u,) in await read(database_url, WAITING)}
        in_flight = await unsettled_replies(database_url)
        figures.inbox_at_kill, figures.replies_at_kill = len(waiting), len(in_flight)
        # a day passes while the bot is down: the restarted bot finds its access token expired
        fake.expire_access(OA)
        await bot.start()
        await listening(bot, port)
        platform.up.set()
        platform.restarted.set()
        await asyncio.wait_for(burst, TIMEOUT)
        # the replies sent before the kill and not confirmed are sent again: at once on SQLite
        # (one process), after their lease on PostgreSQL (another live process may be sending
        # them); wait for all the others
        await settled(database_url, set() if is_sqlite(database_url) else set(in_flight))
    except BaseException:  # say where each user was stuck
        for c in citizens:
            print(c.user, [m[:50] for m in fake.sent(c.user)][-2:])
        raise
    finally:
        burst.cancel()
        assert await bot.stop() == 0, bot.log.with_suffix(f".{bot.starts}.log").read_text()

    figures.events = steps * (USERS + 1)
    figures.posted_again = len(set(platform.unanswered))
    figures.stored_unanswered = len(set(platform.unanswered) & (done | waiting))
    assert set(platform.dropped) <= done | waiting  # stored before the kill, yet not answered
    # every event was acknowledged, once (an acknowledged one is never posted again) ...
    assert len(platform.acknowledged) == len(set(platform.acknowledged)) == figures.events
    # ... and handled, once: none is left in the inbox, each id is marked handled
    handled = sorted(u for (u,) in await read(database_url, HANDLED))
    assert handled == sorted(platform.acknowledged)
    assert await read(database_url, WAITING) == []
    # each citizen got, in order, the replies one run gives, the last one included: an event
    # handled twice would have answered out of the script (a reply sent again after the
    # restart, its delivery not yet confirmed at the kill, is only a repetition)
    for citizen in [model, *citizens]:
        received = fake.sent(citizen.user)
        assert list(dict.fromkeys(received)) == replies_of(reference, model, citizen), citizen
        figures.repeated_replies += len(received) - len(set(received))
    # each registration completed once, with its own answers
    people = await read(database_url, "SELECT full_name, phone FROM citizens")
    assert sorted(people) == sorted((c.name, c.intl_phone) for c in [model, *citizens])
    # no reply left unsent: what is left (PostgreSQL: leased at the kill) was delivered already
    left = await unsettled_replies(database_url)
    assert set(left) <= set(in_flight)
    for chat, reply in left.values():
        user = chat.split(":", 1)[1]
        assert any(m.startswith(reply) for m in fake.sent(user)), (user, reply)
    figures.leased = len(left)
    # the expired token was refreshed once after the restart; no refresh token spent twice
    assert (fake.refreshes, fake.reused_refresh) == (2, 0)
    delivered = [call for call in fake.calls if call.path == "cs" and call.body.get("_ok")]
    assert {call.oa_id for call in delivered} == {OA}  # through the OA written to
    summary = (
        f"killed after {figures.acknowledged_at_kill} of {figures.events - steps} burst events "
        f"were acknowledged; {figures.inbox_at_kill} stored and unhandled, "
        f"{figures.replies_at_kill} replies unconfirmed at the kill; {figures.posted_again} "
        f"posted again ({figures.stored_unanswered} of them stored before the kill; "
        f"{platform.statuses}); lost 0, handled twice 0, replies repeated "
        f"{figures.repeated_replies}, {figures.leased} still leased at the stop"
    )
    record_property("figures", summary)
    print(summary)

"""kill -9 in the middle of the work, then a restart on the same data (SQLite and PostgreSQL):
every update Telegram handed out is handled exactly once and every citizen gets an answer to
their last message; a photo whose download was cut off is fetched again.

`cdht run` runs as a real process against the fake Bot API server, which keeps what it handed
out but was not confirmed by a later offset, as Telegram does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.engine.runner import REPLY_LEASE
from storage import SqlStore, create_engine
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.handlers.telegram.test_telegram_declaration import JPEG

USERS = 60
STEPS = 14  # one registration
TIMEOUT = 120.0  # a safety net against hanging; no speed is asserted


@dataclass
class Bot:
    """`cdht run` as a process that the test may kill."""

    env: dict[str, str]
    cwd: Path
    log: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.with_suffix(f".{self.starts}.log").open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run",
                env=self.env, cwd=self.cwd, stdout=out, stderr=out,
            )  # fmt: skip

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)
        return int(self.process.returncode or 0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


def bot_for(fake: FakeTelegram, tmp_path: Path, database_url: str, telegram_backend: str) -> Bot:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
    env.update(
        CDHT_DATA_DIR=str(tmp_path),
        CDHT_DATABASE_URL=database_url,
        CDHT_TELEGRAM_TOKEN=TOKEN,
        CDHT_TELEGRAM_API_URL=fake.url,
        CDHT_TELEGRAM_BACKEND=telegram_backend,
        CDHT_FLOOD_BURST="1000",  # scripted users type faster than people
    )
    return Bot(env, tmp_path, tmp_path / "bot")


@dataclass
class Figures:
    handed_out: int = 0
    at_kill: int = 0
    inbox_at_kill: int = 0
    replies_at_kill: int = 0
    repeated_replies: int = 0
    notes: list[str] = field(default_factory=list)


async def says(fake: FakeTelegram, user: int, action: Awaitable[object], expected: str) -> None:
    before = len(fake.sent(user))
    await action
    await fake.wait_for(
        lambda: any(expected in p["text"] for p in fake.sent(user)[before:]), TIMEOUT
    )


async def register(fake: FakeTelegram, user: int) -> None:
    name = "Người Thử " + "".join("ABCDEGHIKL"[int(d)] for d in f"{user % 1000:03d}").title()
    script: list[tuple[Callable[[], Awaitable[object]], str]] = [
        # each expected text belongs to that step's own prompt only: a prompt repeated after
        # the restart must not pass for the next one
        (lambda: fake.send_text(user, "/start"), "Công dân học tập"),
        (lambda: fake.press(user, "Đủ 16 tuổi trở lên"), "Đồng ý để đăng ký"),
        (lambda: fake.press(user, "Đồng ý"), "Đồng ý chia sẻ?"),
        (lambda: fake.press(user, "Đồng ý"), "số liệu thống kê"),
        (lambda: fake.press(user, "Đồng ý"), "Thuộc đối tượng nào"),
        (lambda: fake.press(user, "Người dân ở phường/xã"), "Xin cho biết họ và tên"),
        (lambda: fake.send_text(user, name), "năm sinh"),
        (lambda: fake.send_text(user, "1970"), "Giới tính?"),
        (lambda: fake.press(user, "Nữ"), "Xin cho biết số điện thoại"),
        (lambda: fake.send_text(user, "0912 000 111"), "Sống ở phường/xã"),
        (lambda: fake.send_text(user, "le chan"), "Chọn đúng phường/xã"),
        (lambda: fake.press(user, "Phường Lê Chân"), "Thuộc tổ dân phố hoặc thôn nào"),
        (lambda: fake.send_text(user, "Tổ 7"), "Vui lòng kiểm tra lại thông tin"),
        (lambda: fake.press(user, "Xác nhận đăng ký"), "đăng ký thành công"),
    ]
    assert len(script) == STEPS
    for action, expected in script:
        await says(fake, user, action(), expected)


async def table_counts(database_url: str) -> dict[str, int]:
    store = SqlStore(create_engine(database_url))
    try:
        async with store.engine.connect() as conn:
            found = {}
            for name, query in {
                "inbox": "SELECT count(*) FROM inbox",
                "replies": "SELECT count(*) FROM outbox WHERE kind = 'reply'",
                "citizens": "SELECT count(*) FROM citizens",
                "evidence": "SELECT count(*) FROM evidence_files",
            }.items():
                found[name] = int((await conn.execute(text(query))).scalar_one())
            return found
    finally:
        await store.close()


async def replies_settled(database_url: str) -> None:
    deadline = asyncio.get_running_loop().time() + REPLY_LEASE.total_seconds() + TIMEOUT
    while (await table_counts(database_url))["replies"]:
        assert asyncio.get_running_loop().time() < deadline, "replies left in the outbox"
        await asyncio.sleep(0.5)


async def processed_ids(database_url: str) -> set[int]:
    store = SqlStore(create_engine(database_url))
    try:
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT update_id FROM processed_updates WHERE channel = 'telegram'")
            )
            return {int(update_id) for (update_id,) in rows}
    finally:
        await store.close()


async def test_kill_9_during_sixty_registrations_loses_no_update(
    fake: FakeTelegram,
    tmp_path: Path,
    database_url: str,
    telegram_backend: str,
    record_property: Callable[..., None],
) -> None:
    bot = bot_for(fake, tmp_path, database_url, telegram_backend)
    figures = Figures()
    await bot.start()
    users = [880000 + n for n in range(USERS)]
    burst = asyncio.gather(*(register(fake, user) for user in users))
    try:
        # kill when about a third of the registrations' updates have been handed out
        await fake.wait_for(lambda: len(fake.handed_out) >= USERS * STEPS // 3, TIMEOUT)
        await bot.kill()
        figures.at_kill = len(fake.handed_out)
        counts = await table_counts(database_url)
        figures.inbox_at_kill, figures.replies_at_kill = counts["inbox"], counts["replies"]
        await bot.start()
        await asyncio.wait_for(burst, TIMEOUT * 2)
        # replies delivered by the killed process but not yet acknowledged go out once more
        # when their lease ends (at least once): wait for that before counting what is left
        await replies_settled(database_url)
    except BaseException:  # say where each user was stuck
        for user in users:
            print(user, [p["text"][:50] for p in fake.sent(user)][-2:])
        raise
    finally:
        burst.cancel()
        assert await bot.stop() == 0, (bot.log.with_suffix(".2.log")).read_text()

    delivered = set(fake.handed_out)
    figures.handed_out = len(delivered)
    assert len(delivered) == USERS * STEPS  # every update the users sent reached the bot
    assert await processed_ids(database_url) == delivered  # and each was handled, once
    counts = await table_counts(database_url)
    assert counts["citizens"] == USERS  # each registration completed exactly once
    assert (counts["inbox"], counts["replies"]) == (0, 0)  # nothing left unhandled or unsent
    texts = [(int(p["chat_id"]), p["text"]) for p in fake.sent()]
    figures.repeated_replies = len(texts) - len(set(texts))
    summary = (
        f"killed after {figures.at_kill} of {figures.handed_out} updates were handed out; "
        f"{figures.inbox_at_kill} stored and unhandled, {figures.replies_at_kill} replies unsent "
        f"at the kill; lost 0, handled twice 0, replies repeated {figures.repeated_replies}"
    )
    record_property("figures", summary)
    print(summary)


async def test_kill_9_during_an_evidence_download_fetches_it_again(
    fake: FakeTelegram, tmp_path: Path, database_url: str, telegram_backend: str
) -> None:
    bot = bot_for(fake, tmp_path, database_url, telegram_backend)
    user = 881000
    await bot.start()
    try:
        await register(fake, user)
        await says(fake, user, fake.send_text(user, "/declare"), "khoảng 10 phút")
        await says(fake, user, fake.press(user, "Bắt đầu"), "Chỉ số 1/10")
        await says(fake, user, fake.press(user, "9"), "Minh chứng cho chỉ số 1")
        photo = JPEG * 1500  # about 1.5 MB, 23 chunks of 64 KB
        fake.download_pause = 0.5  # a slow phone network: the download takes seconds
        await fake.send_photo(user, "slow-1", photo)
        await fake.wait_for(lambda: fake.downloads_started >= 1, TIMEOUT)
        await asyncio.sleep(1.0)  # mid-download
        await bot.kill()
        assert (await table_counts(database_url))["evidence"] == 0
        fake.download_pause = 0.0
        before = len(fake.sent(user))
        await bot.start()
        await fake.wait_for(
            lambda: any("Đã nhận tệp (1/5)" in p["text"] for p in fake.sent(user)[before:]),
            TIMEOUT,
        )
    finally:
        assert await bot.stop() == 0
    assert fake.downloads_started == 2  # fetched again from the inbox (Telegram file ids last)
    counts = await table_counts(database_url)
    assert (counts["evidence"], counts["inbox"], counts["replies"]) == (1, 0, 0)
    stored = list((tmp_path / "evidence").glob("*/*/*"))
    assert [path.read_bytes() == photo for path in stored] == [True]


def test_settings_for_the_subprocess_are_valid(tmp_path: Path) -> None:
    """The environment the crash tests give `cdht run` is one the settings accept."""
    settings = Settings(_env_file=None, data_dir=tmp_path, flood_burst="1000")
    assert settings.flood_burst == 1000


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
async def test_cdht_run_answers_and_stops_on_either_event_loop(
    fake: FakeTelegram, tmp_path: Path, event_loop: str
) -> None:
    """`cdht run` runs on uvloop's event loop by default and on asyncio's with
    ``CDHT_EVENT_LOOP=asyncio``: on each it answers, says which in its log, and stops cleanly
    on SIGTERM (the loop's signal handler)."""
    bot = bot_for(fake, tmp_path, f"sqlite:///{tmp_path / 'bot.sqlite3'}", "ptb")
    if event_loop == "asyncio":
        bot.env["CDHT_EVENT_LOOP"] = "asyncio"
    await bot.start()
    try:
        await says(fake, 770001, fake.send_text(770001, "/start"), "Công dân học tập")
    finally:
        code = await bot.stop()
    assert code == 0
    log = bot.log.with_suffix(".1.log").read_text(encoding="utf-8")
    assert f"on {event_loop}'s event loop" in log, log

"""Three `cdht run` processes in webhook mode on one PostgreSQL, the test playing the reverse
proxy: updates of many citizens spread over the processes in turn (one user's consecutive
updates on different processes, some sent before the previous one was answered); one process
is killed with SIGKILL mid-run and started again. Every update is handled once and in order
per user, every citizen is answered; then a broadcast to 3,000 recipients, the sending process
killed in the middle: 0 lost, repeats within the in-flight bound, and the combined rate never
above the limit in any second.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from tests.fakes.telegram_api import FakeTelegram
from tests.test_crash import Bot, bot_for

POSTGRES = os.environ.get("CDHT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES, reason="CDHT_TEST_POSTGRES_URL is not set")

SECRET = "cluster-secret"
CITIZENS = 24
RATE = 150  # messages per second for the broadcast (the limit checked)
RECIPIENTS = 3000
TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proxy:
    """The reverse proxy: each update to the next process in turn; a process that does not
    answer (killed) is skipped, as nginx's ``proxy_next_upstream`` does."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = itertools.count()
        self.session = aiohttp.ClientSession()
        self.sent: dict[int, list[int]] = {}  # update id -> ports that answered 200

    async def deliver(self, update: dict[str, Any]) -> None:
        start = next(self.turn)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            for shift in range(len(self.ports)):
                port = self.ports[(start + shift) % len(self.ports)]
                try:
                    async with self.session.post(
                        f"http://127.0.0.1:{port}/telegram",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        if response.status == 200:
                            self.sent.setdefault(update["update_id"], []).append(port)
                            return
                except (aiohttp.ClientError, TimeoutError):
                    continue
            await asyncio.sleep(0.2)
        raise AssertionError(f"no process took update {update['update_id']}")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


async def clean_database() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    assert POSTGRES is not None
    engine = create_async_engine(POSTGRES)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def current_log(bot: Bot) -> str:
    return bot.log.with_suffix(f".{bot.starts}.log").read_text("utf-8", errors="replace")


def cluster(fake: FakeTelegram, tmp_path: Path, ports: list[int]) -> list[Bot]:
    assert POSTGRES is not None
    shared = tmp_path / "shared"  # the evidence folder every process reads
    bots = []
    for n, port in enumerate(ports):
        bot = bot_for(fake, tmp_path / f"p{n}", POSTGRES, "ptb")
        (tmp_path / f"p{n}").mkdir()
        bot.env.update(
            CDHT_TELEGRAM_WEBHOOK_URL="https://bot.example.vn/telegram",
            CDHT_TELEGRAM_WEBHOOK_SECRET=SECRET,
            CDHT_WEBHOOK_PORT=str(port),
            CDHT_EVIDENCE_DIR=str(shared),
            CDHT_TELEGRAM_RATE=str(RATE),
            CDHT_QUIET_HOURS="",
            CDHT_SENDER_CONCURRENCY="8",
        )
        bots.append(bot)
    return bots


async def says(fake: FakeTelegram, user: int, action: Any, expected: str) -> None:
    before = len(fake.sent(user))
    await action
    await fake.wait_for(
        lambda: any(expected in p["text"] for p in fake.sent(user)[before:]), TIMEOUT
    )


async def register(fake: FakeTelegram, user: int) -> None:
    await says(fake, user, fake.send_text(user, "/start"), "Công dân học tập")
    await says(fake, user, fake.press(user, "Đủ 16 tuổi trở lên"), "Đồng ý để đăng ký")
    await says(fake, user, fake.press(user, "Đồng ý"), "Đồng ý chia sẻ?")
    await says(fake, user, fake.press(user, "Đồng ý"), "số liệu thống kê")
    await says(fake, user, fake.press(user, "Đồng ý"), "Thuộc đối tượng nào")
    await says(fake, user, fake.press(user, "Người dân ở phường/xã"), "họ và tên")
    # two answers sent at once, to two processes: the year must not be taken as the name
    await fake.send_text(user, f"Lê Thị {NAMES[user % len(NAMES)]}")
    await says(fake, user, fake.send_text(user, "1971"), "Giới tính")
    await says(fake, user, fake.press(user, "Nữ"), "số điện thoại")
    await says(fake, user, fake.send_text(user, f"09{user % 100000000:08d}"), "phường/xã")
    await says(fake, user, fake.send_text(user, "le chan"), "Chọn đúng phường/xã")
    await says(fake, user, fake.press(user, "Phường Lê Chân"), "tổ dân phố")
    await says(fake, user, fake.send_text(user, "Tổ 7"), "Lê Thị")
    await says(fake, user, fake.press(user, "Xác nhận đăng ký"), "/declare")


NAMES = ["Hoa", "Lan", "Mai", "Cúc", "Đào", "Huệ", "Nga", "Yến"]


async def seed_audience(count: int) -> None:
    """Citizens with Telegram accounts, straight into the database (seeding is not tested)."""
    assert POSTGRES is not None
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO citizens (full_name, birth_year, gender, phone, target_group, "
                "ward_code, ward_name, ward_data_version, residential_group, channel, locale, "
                "registered_at, updated_at) SELECT 'Người ' || n, 1970, 'female', "
                "'+8491' || lpad(n::text, 7, '0'), 1, '11407', 'Phường An Biên', 'x', 'Tổ 1', "
                "'telegram', 'vi', now(), now() FROM generate_series(1, :count) AS n"
            ),
            {"count": count},
        )
        await conn.execute(
            text(
                "INSERT INTO identities (channel, external_id, citizen_id, locale, created_at) "
                "SELECT 'telegram', (900000 + c.id)::text, c.id, 'vi', now() FROM citizens c "
                "WHERE c.ward_code = '11407'"
            )
        )
    await engine.dispose()


async def test_three_processes_share_the_work_and_survive_a_kill(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    await clean_database()
    ports = [free_port() for _ in range(3)]
    bots = cluster(fake, tmp_path, ports)
    proxy = Proxy(ports)
    fake.deliver = proxy.deliver  # the fake Telegram hands every update to the proxy
    try:
        await bots[0].start()  # migrates first; the others find the schema at head
        await listening(ports[0])
        for bot, port in zip(bots[1:], ports[1:], strict=True):
            await bot.start()
            await listening(port)

        async def killer() -> None:
            await fake.wait_for(lambda: len(proxy.sent) >= CITIZENS * 5, TIMEOUT)
            await bots[1].kill()
            await asyncio.sleep(1.0)
            await bots[1].start()

        await asyncio.gather(killer(), *(register(fake, 700000 + n) for n in range(CITIZENS)))

        # every update handled exactly once, and in order: each name is the name sent
        from sqlalchemy.ext.asyncio import create_async_engine

        assert POSTGRES is not None
        engine = create_async_engine(POSTGRES)
        async with engine.connect() as conn:
            handled = (await conn.execute(text("SELECT count(*) FROM processed_updates"))).scalar()
            waiting = (await conn.execute(text("SELECT count(*) FROM inbox"))).scalar()
            rows = (await conn.execute(text("SELECT phone, full_name FROM citizens"))).all()
            names: dict[str, str] = {str(phone): str(name) for phone, name in rows}
            years = {y for (y,) in await conn.execute(text("SELECT birth_year FROM citizens"))}
        assert waiting == 0
        assert handled == len(proxy.sent)  # not one lost, not one twice
        assert len(names) == CITIZENS
        for n in range(CITIZENS):
            user = 700000 + n
            assert names[f"+849{user % 100000000:08d}"] == f"Lê Thị {NAMES[user % len(NAMES)]}"
        assert years == {1971}
        spread = Counter(port for ports_ in proxy.sent.values() for port in ports_)
        assert len(spread) == 3  # every process took updates

        # a broadcast to 3,000, its sender killed half-way
        await seed_audience(RECIPIENTS)
        fake.delivered.clear()
        for bot in bots:
            assert bot.process is not None and bot.process.returncode is None
        env = dict(bots[0].env)
        queued = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "broadcast", "send", "--ward", "11407",
            "--text", "Tuần lễ học tập suốt đời", env=env, cwd=bots[0].cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await queued.communicate()
        assert queued.returncode == 0, err.decode()
        await fake.wait_for(lambda: len(fake.delivered) >= RECIPIENTS // 2, TIMEOUT)
        # the process holding the leader lease is the one sending: kill it
        (leader,) = [bot for bot in bots if "sends the outbox" in current_log(bot)]
        killed_at = time.monotonic()
        await leader.kill()
        await fake.wait_for(
            lambda: len({c for c, _ in fake.delivered if c >= 900000}) >= RECIPIENTS, TIMEOUT
        )
        chats = Counter(c for c, _ in fake.delivered if c >= 900000)
        assert len(chats) == RECIPIENTS  # 0 lost
        repeated = sum(n - 1 for n in chats.values())
        assert repeated <= 8  # at most the messages in flight when the sender died
        seconds = Counter(int(when) for c, when in fake.delivered if c >= 900000)
        assert max(seconds.values()) <= RATE  # the processes together keep the limit
        resumed = min(when for c, when in fake.delivered if when > killed_at)
        print(f"sending resumed {resumed - killed_at:.1f} s after the kill")
        await engine.dispose()
    finally:
        await proxy.session.close()
        for bot in bots:
            if bot.process is not None and bot.process.returncode is None:
                await bot.stop()

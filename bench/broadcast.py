"""Broadcast benchmark: pacing, failures, a million-recipient enqueue, and kill -9 recovery.

    .venv/bin/python bench/broadcast.py            # all four scenarios (about six minutes)
    .venv/bin/python bench/broadcast.py --quick    # smaller numbers, for a smoke run

Everything runs on this machine: the fake Telegram Bot API server of the test suite on
127.0.0.1, the real aiogram client, SQLite in a temporary folder. Figures are printed; nothing
here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr

from bot.app import App, build_app
from bot.config import Settings
from bot.domain.usecases.broadcasts import create_broadcast
from bot.handlers import configured_channels
from tests.fakes.telegram_api import TOKEN, FakeTelegram

NOW = datetime.now(UTC)


def settings(folder: Path, api_url: str = "http://127.0.0.1:9", rate: float = 30) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=folder,
        telegram_token=SecretStr(TOKEN),
        telegram_api_url=api_url,
        telegram_rate=rate,
        telegram_chat_interval=1.0,
        quiet_hours="",
    )


def seed(database: Path, count: int, first_chat: int = 1_000_000) -> None:
    """``count`` registered citizens on Telegram, written straight into SQLite (setup only)."""
    db = sqlite3.connect(database)
    now = NOW.isoformat(sep=" ")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    chunk = 50_000
    for start in range(0, count, chunk):
        ids = range(start + 1, min(start + chunk, count) + 1)
        db.executemany(
            "INSERT INTO citizens (id, full_name, birth_year, phone, target_group, ward_code,"
            " ward_name, ward_data_version, residential_group, channel, locale, registered_at,"
            " updated_at) VALUES (?, 'Người Dân', 1980, '+84912345678', 1, '11383',"
            " 'Phường Lê Chân', 'bench', 'Tổ 1', 'telegram', 'vi', ?, ?)",
            [(i, now, now) for i in ids],
        )
        db.executemany(
            "INSERT INTO identities (id, channel, external_id, citizen_id, created_at)"
            " VALUES (?, 'telegram', ?, ?, ?)",
            [(i, str(first_chat + i), i, now) for i in ids],
        )
        db.commit()
    db.close()


async def prepared(folder: Path, count: int, api_url: str, rate: float) -> App:
    app = build_app(settings(folder, api_url, rate))
    await app.migrate()
    seed(folder / "cdht.sqlite3", count)
    return app


async def queue_broadcast(app: App, text: str = "Tin chiến dịch") -> tuple[int, int]:
    async with app.store.transaction() as uow:
        created = await create_broadcast(uow, text, {}, "bench", datetime.now(UTC))
    return created.id, created.recipients


def windows(stamps: list[float]) -> int:
    """The most messages received in any 1-second window."""
    stamps = sorted(stamps)
    best, left, where = 0, 0, 0.0
    for right, stamp in enumerate(stamps):
        while stamp - stamps[left] >= 1.0:
            left += 1
        if right - left + 1 > best:
            best, where = right - left + 1, stamps[left] - stamps[0]
    if os.environ.get("CDHT_BENCH_DEBUG"):
        print(f"  (busiest second starts {where:.2f} s after the first message)")
    return best


async def send_all(app: App, fake: FakeTelegram, expected: int) -> float:
    (channel,) = configured_channels(app)
    sender = app.outbox_sender(channel)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(sender.run(stop))
    while True:
        await asyncio.sleep(0.5)
        async with app.store.transaction() as uow:
            counts = await uow.outbox.counts()
        if counts.get("pending", 0) == 0:
            break
    stop.set()
    await task
    await channel.api.close()  # type: ignore[attr-defined]
    return time.monotonic() - started


def received(fake: FakeTelegram) -> list[tuple[int, float]]:
    """Messages the server accepted (a 429 or 403 answer is not a delivery)."""
    return list(fake.delivered)


async def pacing(count: int, rate: float, failures: bool) -> None:
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory() as folder:
        app = await prepared(Path(folder), count, fake.url, rate)
        chats = [1_000_000 + i for i in range(1, count + 1)]
        if failures:
            fake.refuse_429_once = set(chats[::100])  # 1 %
            fake.blocked = set(chats[1::50])  # 2 %
        broadcast_id, recipients = await queue_broadcast(app)
        await send_all(app, fake, recipients)
        got = [(chat, at) for chat, at in received(fake) if chat not in fake.blocked]
        ok_stamps = [at for _, at in got]
        per_chat = Counter(chat for chat, _ in got)
        reachable = [c for c in chats if c not in fake.blocked]
        duration = max(ok_stamps) - min(ok_stamps)
        achieved = (len(ok_stamps) - 1) / duration if duration else float("inf")
        async with app.store.transaction() as uow:
            report = await uow.broadcasts.report(broadcast_id)
        await app.close()
    await fake.stop()
    label = "with 1% 429 and 2% 403" if failures else "clean"
    print(f"\n[{label}] {count} recipients at a configured {rate:g}/s")
    paused = " (includes the 1 s pause of each 429)" if failures else " (goal >= 0.97)"
    print(f"  achieved rate        {achieved:8.2f}/s   ratio {achieved / rate:.3f}{paused}")
    print(f"  max in any 1 s       {windows(ok_stamps):8d}     (goal <= {rate:g})")
    print(f"  duplicates           {sum(n - 1 for n in per_chat.values()):8d}     (goal 0)")
    print(f"  lost                 {sum(1 for c in reachable if per_chat[c] == 0):8d}     (goal 0)")
    print(f"  report               {json.dumps(report)}")


def enqueue_child(folder: str) -> None:
    async def run() -> None:
        app = build_app(settings(Path(folder)))
        started = time.monotonic()
        _, recipients = await queue_broadcast(app)
        seconds = time.monotonic() - started
        await app.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"recipients": recipients, "seconds": seconds, "peak_mb": peak}))

    asyncio.run(run())


async def million(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(settings(Path(folder)))
        await app.migrate()
        await app.close()
        started = time.monotonic()
        seed(Path(folder) / "cdht.sqlite3", count)
        setup = time.monotonic() - started
        done = subprocess.run(
            [sys.executable, __file__, "--enqueue-child", folder],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n[enqueue] a broadcast to {figures['recipients']:,} recipients (SQLite)")
    seconds = figures["seconds"]
    print(f"  seconds              {seconds:8.1f}     (goal < 60; seeding took {setup:.0f} s)")
    print(f"  peak memory          {figures['peak_mb']:8.0f} MB  (goal < 300; the whole process)")


def sender_child(folder: str, api_url: str, rate: float) -> None:
    async def run() -> None:
        app = build_app(settings(Path(folder), api_url, rate))
        fake = FakeTelegram()  # unused: the parent's server answers
        await send_all(app, fake, 0)
        await app.close()

    asyncio.run(run())


async def kill_and_restart(count: int, rate: float) -> None:
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory() as folder:
        app = await prepared(Path(folder), count, fake.url, rate)
        await queue_broadcast(app)
        await app.close()
        command = [sys.executable, __file__, "--sender-child", folder, fake.url, str(rate)]
        child = subprocess.Popen(command)
        while len(received(fake)) < count // 3:
            await asyncio.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        at_kill = len(received(fake))
        restarted = subprocess.Popen(command)
        while restarted.poll() is None:
            await asyncio.sleep(0.2)
    per_chat = Counter(chat for chat, _ in received(fake))
    await fake.stop()
    chats = [1_000_000 + i for i in range(1, count + 1)]
    print(f"\n[kill -9] {count} messages at {rate:g}/s, killed after {at_kill} were received")
    print(f"  lost                 {sum(1 for c in chats if per_chat[c] == 0):8d}     (goal 0)")
    repeated = sum(n - 1 for n in per_chat.values())
    print(f"  repeated             {repeated:8d}     (at most the 8 in flight)")


async def main(quick: bool) -> None:
    scale = 10 if quick else 1
    await pacing(3000 // scale, 30, failures=False)
    await pacing(3000 // scale, 30, failures=True)
    await million(1_000_000 // scale)
    await kill_and_restart(10_000 // scale, 200)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--enqueue-child")
    parser.add_argument("--sender-child", nargs=3)
    args = parser.parse_args()
    if args.enqueue_child:
        enqueue_child(args.enqueue_child)
    elif args.sender_child:
        sender_child(args.sender_child[0], args.sender_child[1], float(args.sender_child[2]))
    else:
        asyncio.run(main(args.quick))

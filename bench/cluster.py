"""Several `cdht run` processes on one PostgreSQL: throughput with 1, 2 and 3 processes, how
long sending pauses when the process that sends is killed, and what a broadcast's recipients
receive when the database cuts the leader's lease connection or every connection.

    CDHT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/cluster.py [--citizens 60] [--rounds 2] [--cuts 3]

``--cuts N`` (alone: ``--only-cuts``): N broadcasts to ``--cut-recipients`` (3,000) at 150/s
per way of cutting (``tests/test_cluster_fence.py``): messages repeated and the busiest clock
second (and 1 s window) of each.

The processes run in webhook mode behind the test's reverse proxy (``tests/test_cluster.py``),
which hands each update to the next process in turn; each citizen registers (13 updates, one
answer sent before the previous was answered). Updates per second = updates ÷ wall time of the
whole run (min and median over ``--rounds``). The database's schema is dropped first.
No assertion: figures only (README "Deployment").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegram
from tests.test_cluster import (
    Proxy,
    clean_database,
    cluster,
    current_log,
    free_port,
    listening,
    register,
    seed_audience,
)
from tests.test_cluster_fence import Outcome, broadcast_with_a_cut


async def throughput(processes: int, citizens: int) -> float:
    await clean_database()
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory() as folder:
        ports = [free_port() for _ in range(processes)]
        bots = cluster(fake, Path(folder), ports)
        proxy = Proxy(ports)
        fake.deliver = proxy.deliver
        try:
            for bot, port in zip(bots, ports, strict=True):
                await bot.start()
                await listening(port)
            started = time.perf_counter()
            await asyncio.gather(*(register(fake, 700000 + n) for n in range(citizens)))
            elapsed = time.perf_counter() - started
        finally:
            await proxy.session.close()
            for bot in bots:
                await bot.stop()
    await fake.stop()
    return len(proxy.sent) / elapsed


async def takeover(recipients: int) -> float:
    """Seconds without a delivery after the sending process is killed mid-broadcast."""
    await clean_database()
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory() as folder:
        ports = [free_port() for _ in range(2)]
        bots = cluster(fake, Path(folder), ports)
        try:
            for bot, port in zip(bots, ports, strict=True):
                await bot.start()
                await listening(port)
            await seed_audience(recipients)
            queued = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "broadcast", "send", "--ward", "11407",
                "--text", "Tuần lễ học tập suốt đời", env=dict(bots[0].env), cwd=bots[0].cwd,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await queued.wait()
            await fake.wait_for(lambda: len(fake.delivered) >= recipients // 3, 120)
            (leader,) = [bot for bot in bots if "sends the outbox" in current_log(bot)]
            killed_at = time.monotonic()
            await leader.kill()
            await fake.wait_for(lambda: len(fake.delivered) >= recipients, 120)
            after = sorted(when for _, when in fake.delivered if when >= killed_at)
            gaps = [b - a for a, b in zip([killed_at, *after], after, strict=False)]
        finally:
            for bot in bots:
                if bot.process is not None and bot.process.returncode is None:
                    await bot.stop()
    await fake.stop()
    return max(gaps)


async def cuts(runs: int, recipients: int) -> None:
    """Each way of cutting the leader off, ``runs`` times (interleaved)."""
    found: dict[str, list[Outcome]] = {"lease": [], "all": []}
    for _ in range(runs):
        for kill, outcomes in found.items():
            fake = await FakeTelegram().start()
            try:
                with tempfile.TemporaryDirectory() as folder:
                    outcome = await broadcast_with_a_cut(fake, Path(folder), kill, recipients)
            finally:
                await fake.stop()
            outcomes.append(outcome)
            print(f"  {kill:5} connection(s) cut: {outcome}", flush=True)
    for kill, outcomes in found.items():
        print(
            f"  {kill:5}: repeated {[o.repeated for o in outcomes]}, busiest second "
            f"{[o.busiest_second for o in outcomes]}, busiest 1 s window "
            f"{[o.busiest_window for o in outcomes]}, lost "
            f"{[recipients - o.recipients for o in outcomes]}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--cuts", type=int, default=0, help="broadcasts per way of cutting")
    parser.add_argument("--cut-recipients", type=int, default=3000)
    parser.add_argument("--only-cuts", action="store_true", help="only the cuts (default 3)")
    args = parser.parse_args()
    if not os.environ.get("CDHT_TEST_POSTGRES_URL"):
        sys.exit("set CDHT_TEST_POSTGRES_URL (its schema is dropped)")
    if args.only_cuts:
        print(f"bench/cluster.py: 3 processes, {args.cut_recipients} recipients at 150/s")
        await cuts(args.cuts or 3, args.cut_recipients)
        return
    print(f"bench/cluster.py: {args.citizens} citizens × 13 updates, {os.cpu_count()} CPUs")
    results: dict[int, list[float]] = {1: [], 2: [], 3: []}
    for _ in range(args.rounds):  # interleaved: 1, 2, 3, 1, 2, 3 …
        for processes in results:
            results[processes].append(await throughput(processes, args.citizens))
    base = statistics.median(results[1])
    for processes, figures in results.items():
        print(
            f"  {processes} process{'es' if processes > 1 else ''}: "
            f"min {min(figures):6.1f}, median {statistics.median(figures):6.1f} updates/s "
            f"({statistics.median(figures) / base:.2f}× one process)"
        )
    gap = await takeover(args.recipients)
    print(f"  sender killed mid-broadcast: sending paused {gap:.2f} s, then another went on")
    if args.cuts:
        await cuts(args.cuts, args.cut_recipients)


if __name__ == "__main__":
    asyncio.run(main())

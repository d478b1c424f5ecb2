"""python-telegram-bot's HTTP layer end to end: httpx (its default) against aiohttp
(``bot/handlers/telegram/ptb_aiohttp.py``), and `cdht run`'s start-up on python-telegram-bot.

    .venv/bin/python bench/ptb_request.py [--users 100,1000] [--rounds 3] [--quick]
                                          [--sniffio DIR] [--tree DIR] [--baseline-tree DIR]
    .venv/bin/python bench/ptb_request.py echo httpx|aiohttp   (one echo bot, as run below)

Everything ``bench/e2e.py`` uses is reused: its fake Bot API server on 127.0.0.1
(``bench/fake_bot_api.py``), its users (each sends the next update once the last was answered,
``len(e2e.STEPS)`` updates a user), its process handling and CPU reading (``/proc/<pid>/stat``,
all threads). What differs is only the bot under test:

- ``echo-httpx``, ``echo-aiohttp``: a bare python-telegram-bot echo bot, exactly
  ``bench/echo_ptb.py`` (``Application.run_polling``, every message answered with
  ``sendMessage`` of its text), once on the library's default ``HTTPXRequest`` and once on
  ``AiohttpRequest`` (the same pool sizes: 256 connections for calls, 1 for getUpdates, and the
  same timeouts), both run by this script's ``echo`` command so that nothing else differs;
- ``echo-httpx+sniffio`` (with ``--sniffio DIR``, a folder where ``pip install --target DIR
  sniffio`` put it): httpx with sniffio importable, which httpcore looks for on every lock
  (issue 21: each failed import costs every request);
- ``cdht-ptb``: ``cdht run`` with ``CDHT_TELEGRAM_BACKEND=ptb`` on SQLite, for its start-up
  (process start to its "serving" log line, the database migrated before) and its rate, from
  this source tree or ``--tree DIR``; with ``--baseline-tree DIR`` ``cdht-ptb-baseline``
  beside it, e.g. the tree before this module (a tree is a copy or a ``git worktree``, put
  first on ``PYTHONPATH``: two copies taken at once compare one change alone).

Variants are interleaved (A, B, C, A, B, C …) over ``--rounds``; printed: each run, then per
variant the min and median of updates/s, of the bot's CPU an update and of start-up, and the
rate against ``echo-httpx``'s of the same round (median of the rounds' ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
BENCH = SCRIPT.parent
sys.path.insert(0, str(BENCH.parent))

# -- the echo bot (``echo httpx|aiohttp``), started as a subprocess ----------------------------


def echo(http: str) -> None:
    """``bench/echo_ptb.py`` on the named HTTP layer; ``Application.builder()``'s own pool sizes
    (256 connections for calls, 1 for getUpdates) and timeouts for both."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from telegram import Update
    from telegram.ext import Application, MessageHandler, filters

    async def answer(update: Update, context: Any) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_text(message.text or "…")

    async def ready(application: Any) -> None:
        print(f"serving (python-telegram-bot echo over {http})", file=sys.stderr, flush=True)

    url = os.environ["BENCH_API_URL"]
    builder = (
        Application.builder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .post_init(ready)
    )
    if http == "aiohttp":
        from bot.handlers.telegram.ptb_aiohttp import AiohttpRequest

        builder = builder.request(AiohttpRequest(256)).get_updates_request(AiohttpRequest(1))
    elif http != "httpx":
        sys.exit(f"echo: httpx or aiohttp, not {http!r}")
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, answer))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


# -- the runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    echo: str | None = None  # the echo's HTTP layer; None: `cdht run`
    path: str | None = None  # put first on PYTHONPATH (sniffio's folder, a baseline tree)


@dataclass(frozen=True)
class Figures:
    variant: str
    users: int
    updates: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # the bot's CPU an update, all its threads
    startup_s: float
    missing: int


async def one_run(variant: Variant, users_at_once: int) -> Figures:
    """Start the variant afresh, answer ``users_at_once`` users' updates, stop it."""
    import e2e  # beside this script (sys.path[0])
    from fake_bot_api import TOKEN, FakeBotApi

    fake = await FakeBotApi().start()
    with tempfile.TemporaryDirectory(prefix="cdht-ptb-request-") as name:
        folder = Path(name)
        cdht = e2e.Variant("cdht-ptb", "ptb", backend_set=True)
        if variant.echo is None:
            env = e2e.environment(cdht, fake, folder, None)  # SQLite in ``folder``
        else:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("CDHT_", "BENCH_"))}
            env.update(BENCH_API_URL=fake.url, BENCH_TOKEN=TOKEN)
        if variant.path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [variant.path, env.get("PYTHONPATH")]))
        if variant.echo is None:
            await e2e.prepare(cdht, env, folder, None)
            running = await e2e.launch(cdht, env, folder, fake, None)
        else:
            running = await launch_echo(variant, env, folder, fake)
        pid = running.process.pid
        users = e2e.Users(fake, echo=variant.echo is not None)
        try:
            cpu_before = e2e.cpu_seconds(pid)
            started = time.perf_counter()
            sent = await e2e.closed_loop(users, users_at_once)
            ended = users.last or time.perf_counter()
            cpu = e2e.cpu_seconds(pid) - cpu_before
        finally:
            await running.stop()
            await fake.stop()
    answered = len(users.latencies)
    return Figures(
        variant=variant.name,
        users=users_at_once,
        updates=answered,
        per_second=answered / max(ended - started, 1e-9),
        p50_ms=e2e.percentile(users.latencies, 0.5) * 1000,
        p99_ms=e2e.percentile(users.latencies, 0.99) * 1000,
        cpu_ms=cpu / max(answered, 1) * 1000,
        startup_s=running.serving_after,
        missing=sent - answered,
    )


async def launch_echo(variant: Variant, env: dict[str, str], folder: Path, fake: Any) -> Any:
    """``e2e.launch`` for this script's echo command: back once it polls."""
    import e2e

    fake.first_poll.clear()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "echo", str(variant.echo),
        env=env, cwd=folder,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = e2e.Running(process, started)
    running.reader = asyncio.create_task(running.read())
    try:
        await asyncio.wait_for(fake.first_poll.wait(), 120)
    except TimeoutError:
        await running.stop()
        raise RuntimeError(f"{variant.name} never polled:\n{running.tail()}") from None
    return running


# -- reporting ---------------------------------------------------------------------------------


def show(figures: Figures, label: str) -> None:
    stalled = f"  ** {figures.missing} unanswered **" if figures.missing else ""
    print(
        f"  {label:<44} {figures.users:>5} users: {figures.updates:6d} updates "
        f"{figures.per_second:7.1f}/s  p50 {figures.p50_ms:7.1f} ms  p99 {figures.p99_ms:7.1f} ms"
        f"  CPU {figures.cpu_ms:.3f} ms/update  start {figures.startup_s:.2f} s  "
        f"load {os.getloadavg()[0]:.1f}{stalled}",
        flush=True,
    )


def span(values: Sequence[float], digits: int) -> str:
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return "—"
    return f"{min(kept):.{digits}f} / {statistics.median(kept):.{digits}f}"


def table(results: dict[tuple[str, int], list[Figures]], labels: dict[str, str]) -> None:
    print(
        "\n| variant | users | updates/s min / median | ratio to echo over httpx "
        "| CPU ms/update min / median | p50 ms median | p99 ms median | start-up s min / median |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (name, users), runs in results.items():
        reference = results.get(("echo-httpx", users), [])
        ratios = [a.per_second / b.per_second for a, b in zip(runs, reference, strict=False)]
        ratio = (
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
            if ratios
            else ""
        )
        stalled = sum(run.missing for run in runs)
        print(
            f"| {labels[name]} | {users:,} | {span([r.per_second for r in runs], 1)}"
            f"{f' ({stalled} unanswered)' if stalled else ''} | {ratio} "
            f"| {span([r.cpu_ms for r in runs], 3)} "
            f"| {statistics.median(r.p50_ms for r in runs):.1f} "
            f"| {statistics.median(r.p99_ms for r in runs):.1f} "
            f"| {span([r.startup_s for r in runs], 2)} |"
        )


async def main(args: argparse.Namespace) -> None:
    chosen = [
        Variant("echo-httpx", "bare python-telegram-bot echo, httpx", echo="httpx"),
        Variant("echo-aiohttp", "bare python-telegram-bot echo, aiohttp", echo="aiohttp"),
    ]
    if args.sniffio:
        chosen.append(
            Variant(
                "echo-httpx+sniffio",
                "bare python-telegram-bot echo, httpx + sniffio",
                echo="httpx",
                path=args.sniffio,
            )
        )
    tree = args.tree or "this tree"
    chosen.append(Variant("cdht-ptb", f"`cdht run`, python-telegram-bot ({tree})", path=args.tree))
    if args.baseline_tree:
        baseline = args.baseline_tree
        chosen.append(
            Variant(
                "cdht-ptb-baseline", f"`cdht run`, python-telegram-bot ({baseline})", path=baseline
            )
        )
    users_list = [int(part) for part in args.users.split(",") if part.strip()]
    print(
        f"bench/ptb_request.py: {', '.join(v.name for v in chosen)}; users {users_list}; "
        f"{args.rounds} round(s); {os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: dict[tuple[str, int], list[Figures]] = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} (load average {os.getloadavg()[0]:.2f})", flush=True)
        for users in users_list:
            for variant in chosen:
                figures = await one_run(variant, users)
                results.setdefault((variant.name, users), []).append(figures)
                show(figures, variant.label)
    table(results, {variant.name: variant.label for variant in chosen})


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "echo":
        echo(sys.argv[2])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="100,1000", help="users at once, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sniffio", help="a folder holding sniffio (pip install --target)")
    parser.add_argument("--tree", help="the source tree of `cdht-ptb` (default: this one)")
    parser.add_argument("--baseline-tree", help="an earlier source tree: its `cdht run` too")
    parser.add_argument("--quick", action="store_true", help="3 users, one round (a smoke)")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.users, parsed.rounds = "3", 1
    for folder in ("sniffio", "tree", "baseline_tree"):
        if getattr(parsed, folder):
            setattr(parsed, folder, str(Path(getattr(parsed, folder)).resolve()))
    asyncio.run(main(parsed))

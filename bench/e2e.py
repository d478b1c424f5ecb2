"""The whole process end to end: `cdht run` against bare echo bots, through a Bot API on loopback.

    .venv/bin/python bench/e2e.py [--users 100,1000] [--rounds 3] [--database-url URL]
                                  [--variants cdht,cdht-asyncio,cdht-aiogram,echo-aiogram,...]
                                  [--rate 200] [--seconds 20] [--quick] [--profile DIR]
                                  [--baseline DIR]

Each variant runs as a real subprocess that receives by long polling from a fake Bot API server
that this script runs on 127.0.0.1 (``bench/fake_bot_api.py``, which names what it mirrors of
the live service) and answers with ``sendMessage``:

- ``cdht``: ``cdht run`` as shipped, on its default Telegram library; ``cdht-aiogram`` and
  ``cdht-ptb``: with ``CDHT_TELEGRAM_BACKEND`` set (the default's twin is left out unless named);
  ``cdht-asyncio``: the default with ``CDHT_EVENT_LOOP=asyncio`` (asyncio's loop, not uvloop's);
  every setting at its default but the token, the API's URL, the data folder and a free web port.
  The database is migrated before the process starts (start-up is a restart's); SQLite in a new
  temporary folder each run, PostgreSQL (``--database-url`` or ``CDHT_TEST_POSTGRES_URL``) with
  its schema dropped before each run.
- ``echo-aiogram``, ``echo-ptb``: the references, a bare echo bot of each library
  (``bench/echo_aiogram.py``, ``bench/echo_ptb.py``), answering every message with its text.

Load (typed answers only, so that every update of `cdht run` is one that stores something):

- Closed loop: U users (``--users``) at once, each going through a registration (``xin chào``,
  then the 13 answers up to "Xác nhận đăng ký"); a user's next update goes once the reply to the
  last one arrived (for `cdht run`, the reply with that step's prompt: a wrong answer stalls the
  run and is reported). Updates per second until the last reply, reply latency p50/p99 (update
  queued → ``sendMessage`` received), the bot's CPU time per update (``/proc/<pid>/stat``
  utime+stime, all its threads; on PostgreSQL also the server's, ended processes included), and
  start-up to the "serving" log line.
- Open loop: a fixed offered rate (``--rate`` updates/s for ``--seconds``), the users' steps
  spread so that one user sends about one update every 1.4 s whatever the replies: p50/p99.

Variants are interleaved (A, B, A, B …) over ``--rounds``; printed: min and median, and each
variant's rate against the bare aiogram echo's of the same round (median of the per-round
ratios), and PostgreSQL's against SQLite's. No assertion: figures and ratios (README
"Performance"). ``--profile DIR``: instead of timing, one closed loop per `cdht run` variant and
database under cProfile (``bench/profiled.py``, the load only): the CPU per layer, then the top 25
functions by cumulative and by own time (a coroutine's calls count each of its resumptions).

The processes import the bot the way this script does: to measure one revision while the
checkout changes, extract it (``git archive REV | tar -x -C DIR``, then its catalogs compiled:
``bot.i18n.compile_catalogs``) and run ``DIR/bench/e2e.py`` with ``PYTHONPATH=DIR``; the first
line names the folder the bot came from. ``--baseline DIR``: another revision so extracted runs
as the variant ``cdht-baseline`` (its ``cdht run`` with ``PYTHONPATH=DIR``), interleaved with
this one: a change measured before and after in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from fake_bot_api import TOKEN, FakeBotApi  # beside this script (sys.path[0])

TICK = os.sysconf("SC_CLK_TCK")
STALL = 60.0  # seconds without a reply: the run is given up, its unanswered updates reported
LIBRARY_NAMES = {"aiogram": "aiogram", "ptb": "python-telegram-bot"}

# a registration typed, and the text that tells each step's reply (unique to that prompt)
STEPS: list[tuple[str, str]] = [
    ("xin chào", "Công dân học tập"),
    ("đủ 16 tuổi trở lên", "Đồng ý để đăng ký"),
    ("đồng ý", "Đồng ý chia sẻ?"),
    ("đồng ý", "số liệu thống kê"),
    ("đồng ý", "Thuộc đối tượng nào"),
    ("1", "Xin cho biết họ và tên"),
    ("{name}", "năm sinh"),
    ("1968", "Giới tính?"),
    ("nữ", "Xin cho biết số điện thoại"),
    ("{phone}", "Sống ở phường/xã"),
    ("le chan", "Chọn đúng phường/xã"),
    ("1", "Thuộc tổ dân phố hoặc thôn nào"),
    ("Tổ dân phố 5", "Vui lòng kiểm tra lại thông tin"),
    ("xác nhận đăng ký", "đăng ký thành công"),
]
SYLLABLES = ["An", "Bình", "Chi", "Dung", "Giang", "Hà", "Khánh", "Lan", "Mai", "Nga"]


def typed(user: int, step: int) -> str:
    name = "Nguyễn Thị " + " ".join(SYLLABLES[int(d)] for d in f"{user % 1000:03d}")
    return STEPS[step][0].format(name=name, phone=f"09{user % 100_000_000:08d}")


# -- variants --------------------------------------------------------------------------------


def default_library() -> str:
    from bot.config import Settings

    return str(Settings.model_fields["telegram_backend"].default)


@dataclass(frozen=True)
class Variant:
    name: str
    library: str  # the Telegram library it runs on
    echo: bool = False
    backend_set: bool = False  # CDHT_TELEGRAM_BACKEND given
    event_loop: str | None = None  # CDHT_EVENT_LOOP given
    tree: str | None = None  # the bot from this folder (PYTHONPATH): another revision

    @property
    def label(self) -> str:
        if self.tree:
            return f"`cdht run` from {self.tree} (--baseline)"
        if self.echo:
            return f"bare {LIBRARY_NAMES[self.library]} echo"
        if self.backend_set:
            return f"`cdht run`, CDHT_TELEGRAM_BACKEND={self.library}"
        if self.event_loop:
            return f"`cdht run`, CDHT_EVENT_LOOP={self.event_loop}"
        return f"`cdht run` as shipped ({LIBRARY_NAMES[self.library]})"


def variants(wanted: str | None, baseline: str | None = None) -> list[Variant]:
    default = default_library()
    known = {
        "cdht": Variant("cdht", default),
        "cdht-asyncio": Variant("cdht-asyncio", default, event_loop="asyncio"),
        "cdht-aiogram": Variant("cdht-aiogram", "aiogram", backend_set=True),
        "cdht-ptb": Variant("cdht-ptb", "ptb", backend_set=True),
        "echo-aiogram": Variant("echo-aiogram", "aiogram", echo=True),
        "echo-ptb": Variant("echo-ptb", "ptb", echo=True),
    }
    if baseline:
        known["cdht-baseline"] = Variant("cdht-baseline", default, tree=baseline)
    if wanted:
        names = [name.strip() for name in wanted.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown:
            sys.exit(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    else:  # the default library's twin measures the same build: left out
        names = [name for name in known if name != f"cdht-{default}"]
    return [known[name] for name in dict.fromkeys(names)]


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """utime + stime of a process (all its threads, ended ones included) or of one thread."""
    fields = stat_fields(pid, thread)
    return (int(fields[11] or 0) + int(fields[12] or 0)) / TICK  # fields 14 and 15 of proc(5)


def plain_url(url: str) -> str:
    """The URL for asyncpg itself: ``postgresql://`` without SQLAlchemy's driver name."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


async def reset_schema(url: str) -> None:
    """Drop and create the schema; refused while anyone else is connected to the database
    (the last run's processes are given 10 s to go): it is not this benchmark's alone."""
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(plain_url(url))
    try:
        for _ in range(100):
            others = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            if not others:
                break
            await asyncio.sleep(0.1)
        else:
            sys.exit(f"{others} other session(s) use this database: its schema is not dropped")
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def database_cpu(url: str | None) -> float:
    """CPU seconds of the PostgreSQL server so far: its live processes' (every backend, the
    WAL writer's …) and those of its processes that ended (a pool's overflow connection closed
    during the run), which the postmaster's cutime/cstime hold (proc(5): "time that this
    process's waited-for children have been scheduled"). The whole server's, not only this
    database's: run on a machine where nothing else uses it."""
    if not url:
        return 0.0
    import asyncpg

    conn = await asyncpg.connect(plain_url(url))
    try:  # the server: the parent of this connection's backend, read while it lives
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        postmaster = int(stat_fields(backend)[1])
    finally:
        await conn.close()
    return await asyncio.to_thread(server_cpu, postmaster)


def server_cpu(postmaster: int) -> float:
    """The postmaster's CPU, its live children's and its ended children's."""
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and stat_fields(int(entry.name))[1] == str(postmaster)
    ]
    own = stat_fields(postmaster)
    ended = (int(own[13] or 0) + int(own[14] or 0)) / TICK  # fields 16 and 17 of proc(5)
    return cpu_seconds(postmaster) + ended + sum(cpu_seconds(child) for child in children)


def stat_fields(pid: int, thread: int | None = None) -> list[str]:
    """/proc/<pid>/stat (or a thread's) after the command's name: field 3 of proc(5) first
    ("" when gone)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        with open(path) as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return [""] * 20


@dataclass
class Running:
    process: asyncio.subprocess.Process
    started: float
    serving: asyncio.Event = field(default_factory=asyncio.Event)
    serving_after: float = math.nan
    log: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.log.append(text)
            if not self.serving.is_set() and "serving" in text:
                self.serving_after = time.perf_counter() - self.started
                self.serving.set()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader

    def tail(self) -> str:
        return "\n".join(f"    | {line}" for line in list(self.log)[-15:])


def environment(
    variant: Variant, fake: FakeBotApi, folder: Path, database_url: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDHT_", "BENCH_"))}
    if variant.echo:
        env.update(BENCH_API_URL=fake.url, BENCH_TOKEN=TOKEN)
        return env
    env.update(
        CDHT_DATA_DIR=str(folder),
        CDHT_TELEGRAM_TOKEN=TOKEN,
        CDHT_TELEGRAM_API_URL=fake.url,
        CDHT_WEBHOOK_PORT=str(free_port()),
    )
    if database_url:
        env["CDHT_DATABASE_URL"] = database_url
    if variant.backend_set:
        env["CDHT_TELEGRAM_BACKEND"] = variant.library
    if variant.event_loop:
        env["CDHT_EVENT_LOOP"] = variant.event_loop
    if variant.tree:
        env["PYTHONPATH"] = variant.tree
    return env


async def prepare(variant: Variant, env: dict[str, str], folder: Path, url: str | None) -> None:
    """A database at head before the timed start: PostgreSQL's schema dropped, then migrated."""
    if variant.echo:
        return
    if url:
        await reset_schema(url)
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade", env=env, cwd=folder,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await migrate.communicate()
    if migrate.returncode:
        raise RuntimeError(f"cdht db upgrade failed: {err.decode(errors='replace')[-2000:]}")


async def launch(
    variant: Variant, env: dict[str, str], folder: Path, fake: FakeBotApi, profile: Path | None
) -> Running:
    """Start the variant; return once it logged "serving" and asked for updates."""
    if variant.echo:
        argv = [str(BENCH / f"echo_{variant.library}.py")]
    elif profile is not None:
        env = {**env, "BENCH_PROFILE": str(profile)}
        argv = [str(BENCH / "profiled.py"), "run"]
    else:
        argv = ["-m", "bot", "run"]
    fake.first_poll.clear()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, env=env, cwd=folder,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = Running(process, started)
    running.reader = asyncio.create_task(running.read())
    waits = [asyncio.ensure_future(running.serving.wait()), asyncio.ensure_future(process.wait())]
    await asyncio.wait(waits, timeout=120, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    if not running.serving.is_set():
        await running.stop()
        raise RuntimeError(f"{variant.name} did not start:\n{running.tail()}")
    try:
        await asyncio.wait_for(fake.first_poll.wait(), 60)
    except TimeoutError:
        await running.stop()
        raise RuntimeError(f"{variant.name} never polled:\n{running.tail()}") from None
    return running


# -- users -----------------------------------------------------------------------------------


@dataclass
class Awaited:
    at: float  # when the update was queued
    expected: str | None  # the text its reply carries (None: any reply)
    done: asyncio.Future[None] | None


class Users:
    """Queues the users' updates and matches the replies, in order, per chat."""

    def __init__(self, fake: FakeBotApi, echo: bool) -> None:
        self.fake = fake
        self.echo = echo
        self.awaited: dict[int, deque[Awaited]] = {}
        self.latencies: list[float] = []
        self.last = 0.0
        self.other = 0  # replies that were not the awaited one (for cdht: another prompt)
        self.other_texts: list[str] = []  # the first few of them, shown
        fake.on_message = self.heard

    def send(self, user: int, step: int, done: asyncio.Future[None] | None = None) -> None:
        expected = None if self.echo else STEPS[step][1]
        self.awaited.setdefault(user, deque()).append(Awaited(time.perf_counter(), expected, done))
        self.fake.push(user, typed(user, step))

    def heard(self, chat: int, text: str) -> None:
        queue = self.awaited.get(chat)
        if not queue or (queue[0].expected is not None and queue[0].expected not in text):
            self.other += 1
            if len(self.other_texts) < 3:
                self.other_texts.append(text[:80])
            return
        head = queue.popleft()
        self.last = time.perf_counter()
        self.latencies.append(self.last - head.at)
        if head.done is not None and not head.done.done():
            head.done.set_result(None)

    def missing(self) -> int:
        return sum(len(queue) for queue in self.awaited.values())


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Figures:
    variant: str
    database: str
    users: int  # closed loop: users at once; open loop: 0
    updates: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # the bot's CPU an update
    threads_ms: float  # of it, the threads other than the event loop's (executors, aiosqlite)
    db_cpu_ms: float  # PostgreSQL's server processes' CPU an update (nan: SQLite)
    bench_cpu_ms: float  # this process's (the fake server and the users) an update
    startup_s: float
    load: float  # the machine's load average (1 min) at the end of the run
    missing: int = 0  # updates never answered (a stalled run)
    other: int = 0
    other_texts: tuple[str, ...] = ()


async def closed_loop(users: Users, count: int) -> int:
    loop = asyncio.get_running_loop()

    async def one(user: int) -> None:
        for step in range(len(STEPS)):
            done = loop.create_future()
            users.send(user, step, done)
            await done

    tasks = [asyncio.ensure_future(one(600_000 + n)) for n in range(count)]
    await until_answered(users, tasks)
    return count * len(STEPS)


async def until_answered(users: Users, tasks: Sequence[asyncio.Future[None]] = ()) -> None:
    """Until every update was answered, or no reply came for ``STALL`` seconds."""
    heard, last_progress = -1, time.perf_counter()
    while users.missing() or not all(task.done() for task in tasks):
        if len(users.latencies) != heard:
            heard, last_progress = len(users.latencies), time.perf_counter()
        elif time.perf_counter() - last_progress > STALL:
            break
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()


async def open_loop(users: Users, rate: float, seconds: float) -> int:
    total = max(1, int(rate * seconds))
    people = max(1, math.ceil(total / len(STEPS)))
    plan = [(700_000 + n, step) for step in range(len(STEPS)) for n in range(people)][:total]
    started = time.perf_counter()
    for index, (user, step) in enumerate(plan):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        users.send(user, step)
    await until_answered(users)
    return total


async def one_run(
    variant: Variant,
    database_url: str | None,
    users_at_once: int,
    open_rate: tuple[float, float] | None = None,
    profile: Path | None = None,
) -> Figures:
    """Start the variant afresh, load it, stop it: its figures."""
    fake = await FakeBotApi().start()
    database = "—" if variant.echo else ("PostgreSQL" if database_url else "SQLite")
    with tempfile.TemporaryDirectory(prefix="cdht-e2e-") as name:
        folder = Path(name)
        env = environment(variant, fake, folder, database_url)
        await prepare(variant, env, folder, None if variant.echo else database_url)
        running = await launch(variant, env, folder, fake, profile)
        pid = running.process.pid
        users = Users(fake, variant.echo)
        db_url = None if variant.echo else database_url
        try:
            cpu_before, main_before = cpu_seconds(pid), cpu_seconds(pid, pid)
            db_before = await database_cpu(db_url)
            bench_before = time.process_time()
            if profile is not None:
                running.process.send_signal(signal.SIGUSR1)
            started = time.perf_counter()
            if open_rate is None:
                sent = await closed_loop(users, users_at_once)
            else:
                sent = await open_loop(users, *open_rate)
            ended = users.last or time.perf_counter()
            bench_cpu = time.process_time() - bench_before
            cpu_after, main_after = cpu_seconds(pid), cpu_seconds(pid, pid)
            db_after = await database_cpu(db_url)
            if profile is not None:
                running.process.send_signal(signal.SIGUSR2)
                for _ in range(600):
                    if await asyncio.to_thread(profile.exists):
                        break
                    await asyncio.sleep(0.1)
        finally:
            await running.stop()
            await fake.stop()
    answered = len(users.latencies)
    per = max(answered, 1)
    cpu = cpu_after - cpu_before  # the process's: its threads', ended ones included
    main = main_after - main_before  # the event loop's thread (the main one)
    db_cpu = db_after - db_before
    return Figures(
        variant=variant.name,
        database=database,
        users=0 if open_rate else users_at_once,
        updates=answered,
        per_second=answered / max(ended - started, 1e-9),
        p50_ms=percentile(users.latencies, 0.5) * 1000,
        p99_ms=percentile(users.latencies, 0.99) * 1000,
        cpu_ms=cpu / per * 1000,
        threads_ms=max(0.0, cpu - main) / per * 1000,  # both counted in ticks: never below
        db_cpu_ms=db_cpu / per * 1000 if db_url else math.nan,
        bench_cpu_ms=bench_cpu / per * 1000,
        startup_s=running.serving_after,
        load=os.getloadavg()[0],
        missing=sent - answered,
        other=users.other,
        other_texts=tuple(users.other_texts),
    )


# -- reporting -------------------------------------------------------------------------------


def show(figures: Figures, label: str) -> None:
    where = f"{figures.users} users" if figures.users else "open loop"
    stalled = f"  ** {figures.missing} unanswered **" if figures.missing else ""
    if figures.other:
        stalled += f"  ({figures.other} replies not the step's prompt: {figures.other_texts})"
    db = f", PostgreSQL {figures.db_cpu_ms:.2f}" if not math.isnan(figures.db_cpu_ms) else ""
    print(
        f"  {label:<46} {figures.database:<10} {where:>10}: {figures.updates:6d} updates "
        f"{figures.per_second:7.1f}/s  p50 {figures.p50_ms:7.1f} ms  p99 {figures.p99_ms:7.1f} ms"
        f"  CPU {figures.cpu_ms:.2f} ms/update (other threads {figures.threads_ms:.2f}{db}; "
        f"fake {figures.bench_cpu_ms:.2f})  start {figures.startup_s:.2f} s  "
        f"load {figures.load:.1f}{stalled}",
        flush=True,
    )


def span(values: Sequence[float], digits: int = 1) -> tuple[str, str]:
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return "—", "—"
    return f"{min(kept):.{digits}f}", f"{statistics.median(kept):.{digits}f}"


def ratio_text(ratios: Sequence[float]) -> str:
    if not ratios:
        return ""
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}"
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def closed_table(
    results: dict[tuple[str, str, int], list[Figures]], by_name: dict[str, Variant]
) -> None:
    print(
        "\n| variant | database | users | updates/s min | median | ratio to bare aiogram echo "
        "| PostgreSQL / SQLite | p50 ms (median) | p99 ms (median) | CPU ms/update (median) "
        "| PostgreSQL CPU ms/update | start-up s min / median |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, database, users), runs in results.items():
        rates = [run.per_second for run in runs]
        echo = results.get(("echo-aiogram", "—", users), [])
        to_echo = [a.per_second / b.per_second for a, b in zip(runs, echo, strict=False)]
        sqlite = results.get((name, "SQLite", users), []) if database == "PostgreSQL" else []
        to_sqlite = [a.per_second / b.per_second for a, b in zip(runs, sqlite, strict=False)]
        low, middle = span(rates)
        start_low, start_middle = span([run.startup_s for run in runs], 2)
        stalled = sum(run.missing for run in runs)
        print(
            f"| {by_name[name].label} | {database} | {users:,} | {low} | {middle}"
            f"{f' ({stalled} unanswered)' if stalled else ''} | {ratio_text(to_echo)} "
            f"| {ratio_text(to_sqlite)} | {span([r.p50_ms for r in runs])[1]} "
            f"| {span([r.p99_ms for r in runs])[1]} | {span([r.cpu_ms for r in runs], 2)[1]} "
            f"| {span([r.db_cpu_ms for r in runs], 2)[1]} | {start_low} / {start_middle} |"
        )


def open_table(
    results: dict[tuple[str, str, int], list[Figures]],
    by_name: dict[str, Variant],
    rate: float,
    seconds: float,
) -> None:
    print(f"\nOpen loop, {rate:.0f} updates/s offered for {seconds:.0f} s:\n")
    print("| variant | database | handled | p50 ms min / median | p99 ms min / median |")
    print("|---|---|---|---|---|")
    for (name, database, _), runs in results.items():
        handled = min(run.updates for run in runs)
        offered = max(1, int(rate * seconds))
        p50 = span([r.p50_ms for r in runs])
        p99 = span([r.p99_ms for r in runs])
        print(
            f"| {by_name[name].label} | {database} | {handled}/{offered} "
            f"| {p50[0]} / {p50[1]} | {p99[0]} / {p99[1]} |"
        )


# -- profile ---------------------------------------------------------------------------------

LAYERS = (
    ("sqlalchemy", "/sqlalchemy/"),
    ("database driver", "/aiosqlite/"),
    ("database driver", "/asyncpg/"),
    ("database driver", "sqlite3"),
    ("telegram library", "/telegram/"),
    ("telegram library", "/aiogram/"),
    ("pydantic", "/pydantic"),
    ("pydantic", "pydantic_core"),
    ("database driver", "asyncpg."),
    ("http client", "/httpx/"),
    ("http client", "/httpcore/"),
    ("http client", "/aiohttp/"),
    ("http client", "/anyio/"),
    ("imports (failed or cached)", "<frozen importlib"),
    ("our storage", "/storage/"),
    ("our engine and domain", "/bot/engine"),
    ("our engine and domain", "/bot/domain"),
    ("our engine and domain", "/bot/flows"),
    ("our engine and domain", "/bot/i18n"),
    ("our engine and domain", "/bot/services"),
    ("our channel and receiving", "/bot/handlers/"),
    ("asyncio", "/asyncio/"),
    ("json", "/json/"),
    ("logging", "/logging/"),
)


OTHER = "other"


def layers(table: dict[Any, Any]) -> dict[str, float]:
    """Seconds of own time per layer. A Python function's by its file; a C function (a socket's
    ``send``, ``re``, ``str.join``, ``posix.stat``…) by its name when that names a layer
    (``sqlite3``, ``asyncpg``, ``pydantic_core``), else split over its callers' layers in the
    shares each caller spent in it."""

    def named(key: tuple[str, int, str]) -> str | None:
        filename, _, function = key
        where = function if filename == "~" else filename  # C: "<method 'x' of 'y' objects>"
        return next((name for name, part in LAYERS if part in where), None)

    shares: dict[str, float] = {}
    for key, (_, _, own, _, callers) in table.items():
        layer = named(key)
        if layer is not None or key[0] != "~" or not callers:
            shares[layer or OTHER] = shares.get(layer or OTHER, 0.0) + own
            continue
        for caller, (_, _, spent, _) in callers.items():
            where = named(caller) if caller[0] != "~" else None
            shares[where or OTHER] = shares.get(where or OTHER, 0.0) + spent
    return shares


def show_profile(path: Path, figures: Figures, label: str) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())
    shares = layers(table)
    per = max(figures.updates, 1)
    print(
        f"\n== profile: {label}, {figures.database}, {figures.users} users, "
        f"{figures.updates} updates: {total / per * 1e6:.0f} µs an update in the event loop's "
        f"thread under cProfile; {figures.cpu_ms:.2f} ms of CPU an update in all threads "
        f"(others {figures.threads_ms:.2f}), {figures.per_second:.0f} updates/s"
    )
    for layer, seconds in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"    {layer:<28} {seconds / total:6.1%}  {seconds / per * 1e6:6.0f} µs/update")
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(25)


async def profile_round(args: argparse.Namespace, chosen: list[Variant], folder: Path) -> None:
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    users = args.users[0]
    for variant in [v for v in chosen if not v.echo]:
        for url in args.databases:
            database = "postgresql" if url else "sqlite"
            path = folder / f"{variant.name}-{database}-{users}.prof"
            path.unlink(missing_ok=True)
            figures = await one_run(variant, url, users, profile=path)
            show(figures, variant.label)
            if path.exists():
                show_profile(path, figures, variant.label)
            else:
                print(f"  no profile written for {variant.name} on {database}")


# -- main ------------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="100,1000", help="users at once, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: updates/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="open loop: duration")
    parser.add_argument("--no-open", action="store_true", help="leave the open loop out")
    parser.add_argument("--database-url", default=os.environ.get("CDHT_TEST_POSTGRES_URL"))
    parser.add_argument("--variants", default=None, help="comma-separated (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (CI smoke)")
    parser.add_argument("--profile", type=Path, help="a folder: one round under cProfile")
    parser.add_argument(
        "--baseline",
        help="a folder holding another revision (extracted as above): its `cdht run` as the "
        "variant cdht-baseline, interleaved with this one",
    )
    args = parser.parse_args()
    if args.quick:
        args.users, args.rounds, args.rate, args.seconds = "3", 1, 20.0, 1.0
    import bot  # the package `cdht run` runs too: a checkout, or the folder on PYTHONPATH

    args.users = [int(part) for part in args.users.split(",") if part.strip()]
    args.databases = [None, args.database_url] if args.database_url else [None]
    chosen = variants(args.variants, args.baseline)
    by_name = {variant.name: variant for variant in chosen}
    print(
        f"bench/e2e.py: {', '.join(v.name for v in chosen)}; users {args.users}; "
        f"{len(STEPS)} updates a user; {args.rounds} round(s); {os.cpu_count()} CPUs; "
        f"python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f}; "
        f"the bot from {Path(bot.__file__).parent}",
        flush=True,
    )
    if args.profile is not None:
        await profile_round(args, chosen, args.profile)
        return
    closed: dict[tuple[str, str, int], list[Figures]] = {}
    opened: dict[tuple[str, str, int], list[Figures]] = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} (load average {os.getloadavg()[0]:.2f})", flush=True)
        for users in args.users:
            for variant in chosen:
                for url in args.databases[:1] if variant.echo else args.databases:
                    figures = await one_run(variant, url, users)
                    closed.setdefault((variant.name, figures.database, users), []).append(figures)
                    show(figures, variant.label)
        if args.no_open:
            continue
        for variant in chosen:
            for url in args.databases[:1] if variant.echo else args.databases:
                figures = await one_run(variant, url, 0, open_rate=(args.rate, args.seconds))
                opened.setdefault((variant.name, figures.database, 0), []).append(figures)
                show(figures, variant.label)
    print(
        f"\nClosed loop: U users at once, each registering ({len(STEPS)} updates, the next sent "
        f"when the last was answered); {args.rounds} round(s), interleaved; ratios: median of "
        f"the rounds' (range):"
    )
    closed_table(closed, by_name)
    if opened:
        open_table(opened, by_name, args.rate, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())

"""The whole update path, from the Bot API's JSON to the reply, against each library's bare echo.

    .venv/bin/python bench/updates.py [--citizens N] [--backend aiogram|ptb|both]
                                      [--database-url URL] [--quick]

Each simulated citizen registers and completes a declaration: 37 updates (typed answers and
button presses), fed through the transport's real update handling — the client library parses
``getUpdates`` and serialises every ``sendMessage``, ``answerCallbackQuery`` and
``editMessageText``; only the HTTP exchange is replaced by an in-process server — then the
channel (inbox, per-user order), the engine and the database, onto SQLite in a temporary folder
(and PostgreSQL when ``--database-url`` or ``CDHT_TEST_POSTGRES_URL`` is given).

Printed, for each library:

1. **Overhead**: per update, our full step against the library's bare echo (aiogram's
   ``Dispatcher.feed_update``, python-telegram-bot's ``Application.process_update``, each
   answering with ``sendMessage``) on the same updates, interleaved citizen by citizen in one
   process; min and median of the per-round medians, and the ratio.
2. **Throughput**: N citizens at once (closed loop: each sends its next update when the last
   was answered): updates per second, latency p50/p99, peak memory.
3. **Open loop**: a fixed offered load (200 updates/s for 30 s by default): latency p50/p99.
4. **Start-up** of ``cdht run`` with each library, to the "serving" line (3 runs, min/median).
5. **Idle conversations**: memory after 0, N and 2N citizens left mid-registration.

No assertion: figures and ratios only (goals in README "Performance").
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import App, build_app
from bot.config import Settings
from bot.engine import Result
from bot.handlers.receiving import Incoming
from bot.handlers.telegram import TelegramChannel
from bot.handlers.telegram.api import TelegramApi

TOKEN = "123456:BENCH"  # noqa: S105 - the in-process server's, not a secret
BOT_USER = {"id": 1, "is_bot": True, "first_name": "CDHT", "username": "cdht_bench_bot"}


# -- the in-process Bot API ------------------------------------------------------------------


@dataclass
class Chat:
    """What one simulated user has received."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    keyboard: dict[str, Any] | None = None  # the last message with inline buttons


class Server:
    """Answers the Bot API methods the bot calls, as Telegram would, without a network."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.has_updates = asyncio.Event()
        self.chats: dict[int, Chat] = {}
        self.message_ids = itertools.count(1)
        self.calls = 0

    def push(self, update: dict[str, Any]) -> None:
        self.pending.append(update)
        self.has_updates.set()

    def take(self) -> list[dict[str, Any]]:
        batch, self.pending = self.pending[:100], self.pending[100:]
        if not self.pending:
            self.has_updates.clear()
        return batch

    def answer(self, method: str, params: dict[str, Any]) -> str:
        self.calls += 1
        result: Any = True
        if method == "getUpdates":
            result = self.take()
        elif method == "getMe":
            result = BOT_USER
        elif method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            chat_id = int(params.get("chat_id") or 0)
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            message = {
                "message_id": int(params.get("message_id") or next(self.message_ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": str(params.get("text") or "…"),
            }
            if method == "sendMessage":
                chat = self.chats.setdefault(chat_id, Chat())
                chat.sent.append(message)
                if isinstance(markup, dict) and "inline_keyboard" in markup:
                    message["reply_markup"] = markup
                    chat.keyboard = message
            result = message
        return json.dumps({"ok": True, "result": result}, ensure_ascii=False)


def aiogram_session(server: Server) -> Any:
    """aiogram's own session, serialising each method as it would for HTTP, answered here."""
    from aiogram.client.session.aiohttp import AiohttpSession

    class Session(AiohttpSession):
        async def make_request(self, bot: Any, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
            form = self.build_form_data(bot, method)  # the real serialisation
            params = {str(f[0]["name"]): f[2] for f in form._fields}
            content = server.answer(method.__api_method__, params)
            return self.check_response(bot, method, 200, content).result

    return Session()


def ptb_request(server: Server) -> Any:
    """python-telegram-bot's request layer: the real parameter encoding, answered here."""
    from telegram.request import BaseRequest

    class Request(BaseRequest):
        async def initialize(self) -> None:
            pass

        async def shutdown(self) -> None:
            pass

        @property
        def read_timeout(self) -> float:
            return 30.0

        async def do_request(
            self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any
        ) -> tuple[int, bytes]:
            params = request_data.json_parameters if request_data is not None else {}
            return 200, server.answer(url.rsplit("/", 1)[1], params).encode()

    return Request()


def client(library: str, server: Server) -> TelegramApi:
    if library == "ptb":
        from bot.handlers.telegram.ptb_api import PtbApi

        return PtbApi(TOKEN, "http://bench", request=ptb_request(server))
    from bot.handlers.telegram.aiogram_api import AiogramApi

    return AiogramApi(TOKEN, "http://bench", session=aiogram_session(server))


# -- simulated citizens ----------------------------------------------------------------------

# (press a button?, what): a registration then a declaration, 37 updates
SCRIPT: list[tuple[bool, str]] = [
    (False, "/start"), (True, "Đủ 16 tuổi trở lên"), (True, "Đồng ý"), (True, "Đồng ý"),
    (True, "Đồng ý"),
    (True, "Người dân ở phường/xã"), (False, "Nguyễn Thị Lan"), (False, "1968"), (True, "Nữ"),
    (False, "0912 345 678"), (False, "le chan"), (True, "Phường Lê Chân"), (False, "Tổ dân phố 5"),
    (True, "Xác nhận đăng ký"), (False, "/declare"), (True, "Bắt đầu"),
    *[step for _ in range(10) for step in ((True, "8"), (True, "Không có minh chứng"))],
    (True, "Nộp để xác nhận"),
]  # fmt: skip
# the same answers typed (no button needs the previous reply): for the open loop
TYPED = [
    "/start", "đủ 16 tuổi trở lên", "đồng ý", "đồng ý", "đồng ý", "1", "Nguyễn Thị Lan", "1968",
    "nữ", "0912 345 678", "le chan", "1", "Tổ dân phố 5", "xác nhận đăng ký", "/declare", "bắt đầu",
    *[step for _ in range(10) for step in ("8", "không có minh chứng")], "nộp để xác nhận",
]  # fmt: skip
NAME_STEP = 5  # the full name: a text answer, one conversation write
SCORE_STEP = 15  # the first score: a press that writes an answer


class Users:
    """Makes the Bot API JSON of what users do."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.update_ids = itertools.count(1)

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}

    def text(self, user_id: int, text: str) -> dict[str, Any]:
        return {
            "update_id": next(self.update_ids),
            "message": {
                "message_id": next(self.server.message_ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": "Lan"},
                "from": self._user(user_id),
                "text": text,
            },
        }

    def press(self, user_id: int, label: str) -> dict[str, Any]:
        message = self.server.chats[user_id].keyboard
        assert message is not None, f"nothing to press for {label!r}"
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        (button,) = [b for b in buttons if b["text"] == label] or [None]
        assert button is not None, f"no button {label!r} in {[b['text'] for b in buttons]}"
        shown = {k: v for k, v in message.items() if k != "reply_markup"}
        return {
            "update_id": next(self.update_ids),
            "callback_query": {
                "id": str(next(self.update_ids)),
                "from": self._user(user_id),
                "message": shown,
                "chat_instance": str(user_id),
                "data": button["callback_data"],
            },
        }


# -- our full path ---------------------------------------------------------------------------


class Ours:
    """The bot as `cdht run` runs it, but polling the in-process server."""

    def __init__(self, app: App, library: str) -> None:
        self.server = Server()
        self.users = Users(self.server)
        self.channel = TelegramChannel(
            app.engine, app.translator, api=client(library, self.server), max_concurrency=64
        )
        self.done: dict[int, asyncio.Event] = {}
        receiver = self.channel.receiver
        original = receiver.send

        async def send_then_signal(target: str, result: Result) -> None:
            await original(target, result)
            event = self.done.get(int(target))
            if event is not None:
                event.set()

        receiver.send = send_then_signal  # type: ignore[method-assign]
        self._poller: asyncio.Task[None] | None = None
        self.offset: int | None = None

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.channel.receiver.drain()
        await self.channel.api.close()

    async def _poll(self) -> None:
        """The channel's polling step: getUpdates through the library, store, queue."""
        while True:
            await self.server.has_updates.wait()
            updates = await self.channel.api.get_updates(self.offset, 0)
            found = self.channel._incoming(updates)
            await self.channel.receiver.take(found)

    async def step(self, user_id: int, update: dict[str, Any]) -> float:
        """Feed one update; seconds until its replies were sent and acknowledged."""
        event = self.done[user_id] = asyncio.Event()
        started = time.perf_counter()
        self.server.push(update)
        await event.wait()
        return time.perf_counter() - started

    def update_for(self, user_id: int, press: bool, what: str) -> dict[str, Any]:
        return self.users.press(user_id, what) if press else self.users.text(user_id, what)


# -- the libraries' bare echo ----------------------------------------------------------------


class Echo:
    """Each library's minimal bot on the same updates: parse, route, answer with sendMessage."""

    def __init__(self, library: str) -> None:
        self.library = library
        self.server = Server()
        self._feed: Callable[[dict[str, Any]], Awaitable[None]]

    async def start(self) -> None:
        if self.library == "ptb":
            await self._start_ptb()
        else:
            self._start_aiogram()

    def _start_aiogram(self) -> None:
        from aiogram import Bot, Dispatcher
        from aiogram.types import CallbackQuery, Message, Update

        bot = Bot(TOKEN, session=aiogram_session(self.server))
        dispatcher = Dispatcher()

        @dispatcher.message()
        async def echo(message: Message) -> None:
            await message.answer(message.text or "…")

        @dispatcher.callback_query()
        async def pressed(query: CallbackQuery) -> None:
            await query.answer()
            if query.message is not None:
                await bot.send_message(query.message.chat.id, query.data or "…")

        async def feed(payload: dict[str, Any]) -> None:
            await dispatcher.feed_update(bot, Update.model_validate(payload, context={"bot": bot}))

        self._feed = feed

    async def _start_ptb(self) -> None:
        from telegram import Bot, Update
        from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

        request = ptb_request(self.server)
        bot = Bot(TOKEN, base_url="http://bench/bot", request=request, get_updates_request=request)
        application = Application.builder().bot(bot).updater(None).build()

        async def echo(update: Update, context: Any) -> None:
            assert update.message is not None
            await update.message.reply_text(update.message.text or "…")

        async def pressed(update: Update, context: Any) -> None:
            query = update.callback_query
            assert query is not None
            await query.answer()
            await bot.send_message(query.from_user.id, query.data or "…")

        application.add_handler(MessageHandler(filters.ALL, echo))
        application.add_handler(CallbackQueryHandler(pressed))
        await application.initialize()

        async def feed(payload: dict[str, Any]) -> None:
            await application.process_update(Update.de_json(payload, bot))

        self._feed = feed

    async def step(self, payload: dict[str, Any]) -> float:
        started = time.perf_counter()
        await self._feed(payload)
        return time.perf_counter() - started


# -- measurements ----------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


async def make_app(folder: Path, database_url: str | None, tag: str) -> App:
    if database_url:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    settings = Settings(
        _env_file=None,
        data_dir=folder / tag,
        database_url=database_url,
        flood_burst=10000,
        max_concurrent_updates=64,
    )
    app = build_app(settings)
    await app.migrate()
    return app


async def overhead(library: str, app: App, rounds: int) -> dict[str, Any]:
    """Round by round, one citizen through our path then the echo on the same updates."""
    ours = Ours(app, library)
    echo = Echo(library)
    await ours.start()
    await echo.start()
    per_round: list[tuple[float, float, float, float, float, float]] = []
    user_ids = itertools.count(500000)
    for _ in range(rounds):
        user = next(user_ids)
        fed: list[dict[str, Any]] = []
        mine: list[float] = []
        for press, what in SCRIPT:
            update = ours.update_for(user, press, what)
            fed.append(update)
            mine.append(await ours.step(user, update))
        theirs = [await echo.step(update) for update in fed]
        per_round.append(
            (
                statistics.median(mine),
                statistics.median(theirs),
                mine[NAME_STEP],
                theirs[NAME_STEP],
                mine[SCORE_STEP],
                theirs[SCORE_STEP],
            )
        )
    await ours.stop()
    columns = list(zip(*per_round, strict=True))
    ratio = [m / e for m, e in zip(columns[0], columns[1], strict=True)]
    name_ratio = [m / e for m, e in zip(columns[2], columns[3], strict=True)]
    score_ratio = [m / e for m, e in zip(columns[4], columns[5], strict=True)]
    return {
        "ours_us": (min(columns[0]) * 1e6, statistics.median(columns[0]) * 1e6),
        "echo_us": (min(columns[1]) * 1e6, statistics.median(columns[1]) * 1e6),
        "ratio": (min(ratio), statistics.median(ratio)),
        "name_ratio": (min(name_ratio), statistics.median(name_ratio)),
        "score_ratio": (min(score_ratio), statistics.median(score_ratio)),
    }


async def closed_loop(library: str, app: App, citizens: int) -> dict[str, Any]:
    ours = Ours(app, library)
    await ours.start()
    latencies: list[float] = []

    async def citizen(user: int) -> None:
        for press, what in SCRIPT:
            latencies.append(await ours.step(user, ours.update_for(user, press, what)))

    started = time.perf_counter()
    await asyncio.gather(*(citizen(600000 + n) for n in range(citizens)))
    elapsed = time.perf_counter() - started
    await ours.stop()
    return {
        "updates": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "peak_mb": peak_mb(),
    }


async def open_loop(library: str, app: App, rate: float, seconds: float) -> dict[str, Any]:
    """Updates arrive on a fixed timetable whatever the bot's pace; typed answers only."""
    ours = Ours(app, library)
    await ours.start()
    total = int(rate * seconds)
    users = max(1, total // len(TYPED) + 1)
    plan = [(700000 + n, text) for text in TYPED for n in range(users)][:total]
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    pending: dict[int, list[int]] = {}  # user -> update ids in flight, in order
    receiver = ours.channel.receiver
    original = receiver._process

    async def timed(incoming: Incoming[Any]) -> None:
        await original(incoming)
        update_id = int(incoming.inbound.update_id or 0)
        latencies.append(time.perf_counter() - sent_at.pop(update_id))

    receiver._process = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    for index, (user, text) in enumerate(plan):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        update = ours.users.text(user, text)
        sent_at[update["update_id"]] = time.perf_counter()
        pending.setdefault(user, []).append(update["update_id"])
        ours.server.push(update)
    while sent_at and time.perf_counter() - started < seconds * 4:
        await asyncio.sleep(0.05)
    await ours.stop()
    return {
        "offered": rate,
        "handled": len(latencies),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def idle_memory(app: App, library: str, step: int) -> list[tuple[int, float]]:
    ours = Ours(app, library)
    await ours.start()
    figures = []
    user_ids = itertools.count(800000)
    for stage in range(3):
        if stage:
            for _ in range(step):
                user = next(user_ids)
                await ours.step(user, ours.users.text(user, "/start"))
        gc.collect()
        figures.append((stage * step, rss_mb()))
    await ours.stop()
    return figures


async def startup(library: str, runs: int) -> list[float]:
    """`cdht run` from the process start to its "serving" line, against the fake Bot API."""
    from tests.fakes.telegram_api import TOKEN as FAKE_TOKEN
    from tests.fakes.telegram_api import FakeTelegram

    fake = await FakeTelegram().start()
    times = []
    try:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                env = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
                env.update(
                    CDHT_DATA_DIR=folder,
                    CDHT_TELEGRAM_TOKEN=FAKE_TOKEN,
                    CDHT_TELEGRAM_API_URL=fake.url,
                    CDHT_TELEGRAM_BACKEND=library,
                )
                started = time.perf_counter()
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", env=env, cwd=folder,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                assert process.stderr is not None
                while line := await process.stderr.readline():
                    if b"serving telegram" in line:
                        times.append(time.perf_counter() - started)
                        break
                process.terminate()
                await process.wait()
    finally:
        await fake.stop()
    return times


def show(label: str, pair: tuple[float, float], unit: str = "") -> str:
    return f"{label} min {pair[0]:.2f}{unit}, median {pair[1]:.2f}{unit}"


LAYERS = (
    ("sqlalchemy", "/sqlalchemy/"),
    ("sqlite3 / asyncpg", "sqlite3"),
    ("sqlite3 / asyncpg", "/asyncpg/"),
    ("telegram library", "/telegram/"),
    ("telegram library", "/aiogram/"),
    ("telegram library", "/httpx/"),
    ("telegram library", "/httpcore/"),
    ("telegram library", "/aiohttp/"),
    ("our storage", "/storage/"),
    ("our engine", "/bot/engine"),
    ("our engine", "/bot/domain"),
    ("our engine", "/bot/i18n"),
    ("our telegram channel", "/bot/handlers/"),
    ("benchmark harness", "bench/updates.py"),
    ("asyncio", "/asyncio/"),
    ("json (stdlib)", "/json/"),
)


async def profile(library: str, app: App, citizens: int) -> None:
    """Where the closed loop's CPU goes: the top functions, then the share per layer."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    figures = await closed_loop(library, app, citizens)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        where = function if filename == "~" else filename  # C functions: "<method 'x' of 'y'>"
        layer = next((name for name, part in LAYERS if part in where), "other")
        shares[layer] = shares.get(layer, 0.0) + row[2]
    print(
        f"[{library}] profiled {figures['updates']} updates: "
        f"{total / figures['updates'] * 1e6:.0f} µs of CPU an update (under cProfile)"
    )
    for layer, seconds in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"    {layer:<22} {seconds / total:6.1%}")
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(r"/(bot|storage)/", 25)


async def run_backend(
    database_url: str | None, name: str, libraries: list[str], args: argparse.Namespace
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        print(f"\n== {name}")
        if args.profile:
            for library in libraries:
                app = await make_app(base, database_url, f"{library}-profile")
                await profile(library, app, args.citizens)
                await app.close()
            return
        for library in libraries:
            app = await make_app(base, database_url, f"{library}-overhead")
            figures = await overhead(library, app, args.rounds)
            await app.close()
            print(
                f"[{library}] per update: ours {show('', figures['ours_us'], ' µs')}; "
                f"echo {show('', figures['echo_us'], ' µs')}"
            )
            print(
                f"[{library}] ratio to the echo: all steps {show('', figures['ratio'], '×')}; "
                f"name step {show('', figures['name_ratio'], '×')}; "
                f"score step {show('', figures['score_ratio'], '×')}"
            )
        for library in libraries:
            app = await make_app(base, database_url, f"{library}-closed")
            figures = await closed_loop(library, app, args.citizens)
            await app.close()
            print(
                f"[{library}] {args.citizens} citizens at once: {figures['updates']} updates, "
                f"{figures['per_second']:.0f} updates/s, p50 {figures['p50_ms']:.1f} ms, "
                f"p99 {figures['p99_ms']:.1f} ms, peak memory {figures['peak_mb']:.0f} MB"
            )
        for library in libraries:
            app = await make_app(base, database_url, f"{library}-open")
            figures = await open_loop(library, app, args.rate, args.seconds)
            await app.close()
            print(
                f"[{library}] open loop at {figures['offered']:.0f} updates/s for "
                f"{args.seconds:.0f} s: {figures['handled']} handled, p50 "
                f"{figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
            )
        if database_url is None:
            app = await make_app(base, None, "idle")
            memory = await idle_memory(app, libraries[0], args.idle)
            await app.close()
            shown = ", ".join(f"{users} idle: {mb:.0f} MB" for users, mb in memory)
            print(f"[{libraries[0]}] resident memory with conversations left idle: {shown}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--backend", choices=("aiogram", "ptb", "both"), default="both")
    parser.add_argument("--database-url", default=os.environ.get("CDHT_TEST_POSTGRES_URL"))
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="profile the closed loop instead of timing"
    )
    args = parser.parse_args()
    if args.quick:
        args.citizens, args.rounds, args.seconds, args.idle = 100, 10, 5.0, 300
    libraries = ["aiogram", "ptb"] if args.backend == "both" else [args.backend]
    print(f"bench/updates.py: {len(SCRIPT)} updates per citizen; python {sys.version.split()[0]}")
    await run_backend(None, "SQLite", libraries, args)
    if args.database_url:
        await run_backend(args.database_url, "PostgreSQL", libraries, args)
    if not args.no_startup:
        for library in libraries:
            times = await startup(library, 3)
            print(
                f"[{library}] `cdht run` to its serving line: min {min(times):.2f} s, "
                f"median {statistics.median(times):.2f} s"
            )


if __name__ == "__main__":
    asyncio.run(main())

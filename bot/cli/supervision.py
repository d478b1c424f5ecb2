"""``cdht run`` and ``cdht console``: the process that serves. Its channels, their outbox
senders, the scheduler and the housekeeping, the web server; one process per SQLite file; on
PostgreSQL the "leader" lease that lets one process of several send and schedule; SIGINT and
SIGTERM end it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.engine.ports import Lease
from bot.handlers.registry import served_channels

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers import Channel
    from bot.handlers.web import WebServer

__all__ = [
    "LEAD_RETRY_SECONDS",
    "LEASE_CHECK_SECONDS",
    "STEP_BACK_SECONDS",
    "console",
    "only_process",
    "run",
    "serve",
    "while_leading",
]

log = logging.getLogger("cdht")

LEAD_RETRY_SECONDS = 1.0  # how often a process that does not lead asks again
LEASE_CHECK_SECONDS = 1.0  # how often an idle leader checks that it still holds the lease
STEP_BACK_SECONDS = 2.5  # a leader that lost the lease lets the others ask first


def only_process(settings: Settings) -> object | None:
    """On SQLite, ``cdht run`` is the only one on its database file: an exclusive lock on a
    file beside it, held until the process ends (the kernel lets it go, a kill -9 included).
    None when another process holds it."""
    import fcntl

    from storage.db import is_sqlite

    if not is_sqlite(settings.effective_database_url):
        return True  # PostgreSQL: as many processes as wanted
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    handle = (settings.data_dir / "cdht.run.lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


async def run(settings: Settings) -> int:
    """``cdht run``: every configured channel until a signal; the console chat if none."""
    from bot.app import build_app, configure_logging
    from bot.handlers import configured_channels
    from bot.handlers.web import WebServer

    held = only_process(settings)
    if held is None:
        print(
            "another `cdht run` uses this SQLite database; for several processes use "
            "PostgreSQL (CDHT_DATABASE_URL)",
            file=sys.stderr,
        )
        return 2
    app = build_app(settings)
    try:
        await app.migrate()
        await app.release_replies()
        await app.housekeeping()
        web_server = WebServer(settings.webhook_host, settings.webhook_port)
        channels: list[Channel] = configured_channels(app, web_server)
        if channels:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            described = ", ".join(_described(channel) for channel in channels)
            log.info("serving %s on %s's event loop", described, _loop_name(loop))
            await serve(app, channels, stop, web_server=web_server)
            return 0
    finally:
        await app.close()
    tokens = ", ".join(
        f"CDHT_{channel.enabled_by.upper()}" for channel in served_channels() if channel.enabled_by
    )
    print(f"No channel token configured ({tokens}); starting the console chat.")
    configure_logging(settings, chat=True)  # from here the terminal shows a chat
    return await console(settings, "local")


def _described(channel: Channel) -> str:
    library = getattr(channel, "library", None)  # Telegram's client library
    return f"{channel.name} ({library})" if library else channel.name


async def console(settings: Settings, user: str) -> int:
    """The terminal chat, with the staff's web console served on this machine: on
    127.0.0.1 at ``CDHT_WEBHOOK_PORT`` (8080), or a free port when that one is taken; without
    ``CDHT_PUBLIC_BASE_URL``, ``/web`` links to that local address."""
    from bot.app import build_app, serve_web_console
    from bot.handlers.console import ConsoleChannel
    from bot.handlers.web import WebServer

    server = WebServer("127.0.0.1", settings.webhook_port)
    try:
        local: str | None = server.bind(any_free_port=True)
    except OSError as exc:  # no port at all: the chat still works, /web says it is not there
        log.warning("web console: cannot listen on 127.0.0.1 (%s)", exc.strerror or exc)
        local = None
    web_server = server if local else None
    try:
        app = build_app(settings, web_base_url=local)
        try:
            if web_server is not None:
                serve_web_console(app, web_server)
            await app.migrate()
            chat = ConsoleChannel(app.engine, app.translator, settings.default_locale, user)
            app.evidence.register(chat.name, chat.fetch_file)
            await serve(app, [chat], asyncio.Event(), chat.run, web_server)
            return 0
        finally:
            await app.close()
    finally:
        await server.stop()  # its socket is bound even if the chat ended before it served


async def serve(
    app: App,
    channels: Sequence[Channel],
    stop: asyncio.Event,
    until: Callable[[asyncio.Event], Awaitable[None]] | None = None,
    web_server: WebServer | None = None,
) -> None:
    """Channels, their outbox senders, the scheduler and the web server (webhooks, evidence
    links), until ``stop`` (or ``until`` ends)."""
    if web_server is not None and web_server.needed:
        await web_server.start()
    try:
        await _serve_jobs(app, channels, stop, until)
    finally:
        if web_server is not None:
            await web_server.stop()
        for channel in channels:  # after the senders: nothing is in flight any more
            close = getattr(channel, "close", None)
            if close is not None:
                await close()


async def _serve_jobs(
    app: App,
    channels: Sequence[Channel],
    stop: asyncio.Event,
    until: Callable[[asyncio.Event], Awaitable[None]] | None,
) -> None:
    jobs = [channel.run(stop) for channel in channels if until is None]
    senders = [app.outbox_sender(channel) for channel in channels]
    scheduler = app.scheduler()

    def led(inner: asyncio.Event, lease: Lease) -> list[Awaitable[None]]:
        return [
            *(sender.run(inner, lease) for sender in senders),
            scheduler.run(inner),
            app.run_housekeeping(inner),
        ]

    jobs.append(while_leading(app, stop, led))
    if until is not None:

        async def foreground() -> None:
            try:
                await until(stop)
            finally:
                stop.set()

        jobs.append(foreground())
    await asyncio.gather(*jobs)


class _Leading:
    """The lease as the leader's jobs see it: the first of them to find it lost (the sender
    asks before every message) stops them all at once."""

    def __init__(self, lease: Lease, jobs_stop: asyncio.Event) -> None:
        self._lease = lease
        self._jobs_stop = jobs_stop
        self.lost = False

    async def alive(self) -> bool:
        if not self.lost and await self._lease.alive():
            return True
        if not self.lost:
            self.lost = True
            log.warning("lost the leader lease; another process takes over")
        self._jobs_stop.set()
        return False

    async def release(self) -> None:
        await self._lease.release()


async def _either(first: asyncio.Event, second: asyncio.Event, seconds: float) -> None:
    """Until either event is set, or for ``seconds``."""
    waiters = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def while_leading(
    app: App,
    stop: asyncio.Event,
    jobs: Callable[[asyncio.Event, Lease], list[Awaitable[None]]],
) -> None:
    """The outbox senders, the scheduler and the housekeeping run in one process at a time:
    the holder of the "leader" lease (always this one on SQLite; on PostgreSQL an advisory lock
    that a killed process's connection gives up). The others ask again every second, so that a
    dead leader's work moves within about ``LEAD_RETRY_SECONDS`` + the kernel closing its socket;
    one sender for the cluster keeps the platforms' rate limits for all processes together.

    The jobs get the lease: the sender proves it held before each message (see
    ``OutboxSender``), and the first job to find it lost stops them all; an idle leader checks
    every ``LEASE_CHECK_SECONDS``."""
    while not stop.is_set():
        try:
            lease = await app.store.try_lease("leader")
        except Exception as exc:  # the database is away: try again
            log.warning("leader lease: %s", type(exc).__name__)
            lease = None
        if lease is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LEAD_RETRY_SECONDS)
            continue
        if app.store.shared:
            log.info("this process sends the outbox and runs the schedules")
        inner = asyncio.Event()
        leading = _Leading(lease, inner)

        async def watch(leading: _Leading = leading, inner: asyncio.Event = inner) -> None:
            while not stop.is_set() and not inner.is_set():
                await _either(stop, inner, LEASE_CHECK_SECONDS)
                if not stop.is_set() and not inner.is_set():
                    await leading.alive()  # lost: ``inner`` is set
            inner.set()

        try:
            await asyncio.gather(watch(), *jobs(inner, leading))
        finally:
            await lease.release()
        if leading.lost:  # its own connection may be what failed: a healthy process takes over
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STEP_BACK_SECONDS)


def _loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """The event loop's library: "uvloop" or "asyncio" (``CDHT_EVENT_LOOP``)."""
    return type(loop).__module__.partition(".")[0]

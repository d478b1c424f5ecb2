"""The ``cdht`` command line (``python -m bot`` is the same).

Every mistake ends in one line on stderr, never a traceback, and a non-zero exit: 2 for a
wrong command line or configuration (what it was and what to write instead), 1 for something
asked for that is not there or not allowed (a broadcast, an account). A file asked for with
``--output`` is written whole or not at all."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.config import ConfigError, Settings, load_settings
from bot.domain.calendar import VN_TIME, campaign_year
from bot.engine.ports import Lease, StorageUnavailable

if TYPE_CHECKING:
    from bot.app import App
    from bot.domain.ports import UnitOfWork
    from bot.domain.wards import WardDirectory
    from bot.engine import Text
    from bot.handlers import Channel
    from bot.handlers.web import WebServer
    from bot.i18n import Translator

__all__ = ["CliError", "main"]

log = logging.getLogger("cdht")

FIRST_YEAR, LAST_YEAR = 2020, 2100  # the range CDHT_CAMPAIGN_YEAR accepts


class CliError(Exception):
    """A mistake on the command line, said in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (its usage block is what ``--help`` is for)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _year(text: str) -> int:
    try:
        year = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year; write e.g. 2026") from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{year} is not a campaign year ({FIRST_YEAR} to {LAST_YEAR})"
        )
    return year


def _days(text: str) -> int:
    try:
        days = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 <= days <= 3650:
        raise argparse.ArgumentTypeError(f"{days}: give a number of days from 0 to 3650")
    return days


def _at(text: str) -> datetime:
    """An ISO date and time; without a zone, Asia/Ho_Chi_Minh."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time; write e.g. 2026-12-01T08:00 "
            "(without a zone: Asia/Ho_Chi_Minh)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=VN_TIME)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cdht", description="Công dân học tập bot")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="start every configured channel (the console if none)")
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--user", default="local", help="who you are in the console chat")
    db = commands.add_parser("db", help="database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="upgrade")
    db_commands.add_parser("upgrade", help="apply the Alembic migrations")
    wards = commands.add_parser("wards", help="list or search the province's units")
    wards.add_argument("query", nargs="*", help="part of a name, with or without diacritics")
    staff = commands.add_parser("coordinator", help="ward coordinators and admins")
    staff_commands = staff.add_subparsers(
        dest="staff_command", required=True, metavar="{invite,list,revoke}"
    )
    invite = staff_commands.add_parser("invite", help="print a one-time invitation code")
    invite.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    invite.add_argument("--admin", action="store_true", help="invite a city admin instead")
    listing = staff_commands.add_parser("list", help="coordinators and admins with their wards")
    listing.add_argument(
        "--uncovered",
        action="store_true",
        help="instead: units with declarations waiting and no coordinator",
    )
    revoke = staff_commands.add_parser(
        "revoke", help="take an account's role away (as /revoke in the chat; the account is told)"
    )
    revoke.add_argument("id", type=int, help="the number `cdht coordinator list` shows")
    revoke.add_argument("--locale", choices=("vi", "en"), help="the language of the answer")
    bc = commands.add_parser("broadcast", help="campaign messages to registered citizens")
    bc_commands = bc.add_subparsers(
        dest="broadcast_command", required=True, metavar="{send,cancel,report}"
    )
    send = bc_commands.add_parser("send", help="queue a broadcast (now or --at a time)")
    body = send.add_mutually_exclusive_group(required=True)
    body.add_argument("--text", help="the message")
    body.add_argument("--file", type=Path, help="a UTF-8 file holding the message")
    send.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    send.add_argument("--group", type=int, choices=(1, 2, 3, 4))
    send.add_argument(
        "--status", choices=("not_started", "in_progress", "submitted", "returned", "recognised")
    )
    send.add_argument("--channel", choices=("telegram", "zalo", "console"))
    send.add_argument("--locale", choices=("vi", "en"))
    send.add_argument("--at", type=_at, help="ISO time; without a zone, Asia/Ho_Chi_Minh")
    send.add_argument(
        "--continue-button", action="store_true", help='add a "Continue my declaration" button'
    )
    for name in ("cancel", "report"):
        one = bc_commands.add_parser(name, help=f"{name} a broadcast")
        one.add_argument("id", type=int)
    export = commands.add_parser("export", help="one record per citizen")
    export.add_argument(
        "--format", choices=("json", "csv", "xlsx"), help="default: from --output's name, or json"
    )
    export.add_argument("--ward", help="only this unit's code")
    export.add_argument("--year", type=_year, help="only declarations of this campaign year")
    export.add_argument("--output", type=Path, help="write to this file (CSV gets a BOM for Excel)")
    export.add_argument("--locale", choices=("vi", "en"), help="the Excel file's language")
    report = commands.add_parser("report", help="the campaign's figures against the targets")
    report.add_argument("--year", type=_year, help="the campaign year (default: this one)")
    report.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    report.add_argument(
        "--format", choices=("text", "xlsx"), help="default: from --output's name, or text"
    )
    report.add_argument("--output", type=Path, help="write to this file (required for xlsx)")
    report.add_argument("--locale", choices=("vi", "en"))
    lists = commands.add_parser("list", help="a ward office's lists")
    lists.add_argument("which", choices=("proposed", "not-started", "waiting"))
    lists.add_argument("--year", type=_year, help="the campaign year (default: this one)")
    lists.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    lists.add_argument("--days", type=_days, default=7, help="waiting: longer than this many days")
    lists.add_argument(
        "--format", choices=("text", "xlsx"), help="default: from --output's name, or text"
    )
    lists.add_argument("--output", type=Path, help="write to this file (required for xlsx)")
    lists.add_argument("--locale", choices=("vi", "en"))
    return parser


def _only_process(settings: Settings) -> object | None:
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


async def _run(settings: Settings) -> int:
    from bot.app import build_app, configure_logging
    from bot.handlers import configured_channels
    from bot.handlers.web import WebServer

    held = _only_process(settings)
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
            log.info("serving %s", ", ".join(_described(channel) for channel in channels))
            await _serve(app, channels, stop, web_server=web_server)
            return 0
    finally:
        await app.close()
    print(
        "No channel token configured (CDHT_TELEGRAM_TOKEN, CDHT_ZALO_TOKEN); "
        "starting the console chat."
    )
    configure_logging(settings, chat=True)  # from here the terminal shows a chat
    return await _console(settings, "local")


def _described(channel: Channel) -> str:
    library = getattr(channel, "library", None)  # Telegram's client library
    return f"{channel.name} ({library})" if library else channel.name


async def _serve(
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

    jobs.append(_while_leading(app, stop, led))
    if until is not None:

        async def foreground() -> None:
            try:
                await until(stop)
            finally:
                stop.set()

        jobs.append(foreground())
    await asyncio.gather(*jobs)


LEAD_RETRY_SECONDS = 1.0  # how often a process that does not lead asks again
LEASE_CHECK_SECONDS = 1.0  # how often an idle leader checks that it still holds the lease
STEP_BACK_SECONDS = 2.5  # a leader that lost the lease lets the others ask first


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


async def _while_leading(
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


async def _console(settings: Settings, user: str) -> int:
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
            console = ConsoleChannel(app.engine, app.translator, settings.default_locale, user)
            app.evidence.register(console.name, console.fetch_file)
            await _serve(app, [console], asyncio.Event(), console.run, web_server)
            return 0
        finally:
            await app.close()
    finally:
        await server.stop()  # its socket is bound even if the chat ended before it served


async def _db_upgrade(settings: Settings) -> int:
    from storage import create_engine, current_revision, upgrade

    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        print(f"database at revision {await current_revision(engine)}")
        return 0
    finally:
        await engine.dispose()


def _wards(settings: Settings, query: str) -> int:
    from bot.app import load_wards

    directory = load_wards(settings)
    from bot.domain.collation import collation_key

    found = (
        directory.search(query, limit=20)
        if query
        else sorted(directory.all(), key=lambda ward: collation_key(ward.name))
    )
    for ward in found:
        print(f"{ward.code}\t{ward.name}")
    if not found:
        print(f"no unit matches {query!r}", file=sys.stderr)
        return 1
    print(f"{len(found)} of {len(directory)} units ({directory.data_version})", file=sys.stderr)
    return 0


# -- files and arguments shared by the commands ---------------------------------------------

# what a file's name says it holds; a name not listed here says nothing
NAMED_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".txt": "text", ".tsv": "text"}
SUFFIX_OF = {"xlsx": ".xlsx", "csv": ".csv", "json": ".json", "text": ".txt"}
# names of files that hold something none of the commands writes: refused, never filled with text
OTHER_FORMATS = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".ods", ".odt", ".html", ".htm", ".png", ".jpg", ".zip"}
)


def _format(asked: str | None, output: Path | None, offered: Sequence[str], default: str) -> str:
    """The format asked for, or the one the file's name says, or ``default``; a name that
    says another format than the one asked for is refused rather than written wrongly."""
    named = NAMED_FORMATS.get(output.suffix.lower()) if output is not None else None
    if output is not None and output.suffix.lower() in OTHER_FORMATS:
        kinds = " or ".join(SUFFIX_OF[f] for f in offered)
        raise CliError(f"--output {output}: this command writes {kinds} files")
    if asked is None:
        if named is None:
            return default
        if named in offered:
            return named
        kinds = " or ".join(SUFFIX_OF[f] for f in offered)
        raise CliError(f"--output {output}: this command writes {kinds} files")
    if named is not None and named != asked:
        instead = f" or use --format {named}" if named in offered else ""
        raise CliError(
            f"--format {asked} does not match the file name {output}: "
            f"end it with {SUFFIX_OF[asked]}{instead}"
        )
    return asked


class _Output:
    """A file written whole or not at all. Checked before any work is done (the folder is
    there, the name is not a folder, a file can be made there); written under a temporary
    name beside it and renamed over it only once complete (``os.replace``: atomic within a
    folder, https://docs.python.org/3/library/os.html#os.replace), so a failure leaves no
    half-written file and an older file of that name intact."""

    def __init__(self, target: Path) -> None:
        self.target = target
        folder = target.parent
        if target.is_dir():
            raise CliError(f"--output {target} is a folder; give a file name in it")
        if not folder.exists():
            raise CliError(f"--output {target}: the folder {folder} does not exist")
        if not folder.is_dir():
            raise CliError(f"--output {target}: {folder} is not a folder")
        try:
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
        os.close(handle)
        self.part: Path | None = Path(name)

    def commit(self) -> None:
        """The file complete: in place, with the permissions a new file gets (or the ones the
        file it replaces had)."""
        assert self.part is not None
        try:
            if self.target.exists():
                mode = stat.S_IMODE(self.target.stat().st_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            self.part.chmod(mode)
            os.replace(self.part, self.target)
        except OSError as exc:
            raise CliError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        self.part = None

    def discard(self) -> None:
        if self.part is not None:
            self.part.unlink(missing_ok=True)
            self.part = None


@contextlib.contextmanager
def _writing(output: _Output) -> Iterator[Path]:
    """The temporary file to fill; in place once the block completes. A failure to write (a
    full disk) is one line, and the temporary file goes (``_Output.discard``)."""
    from xlsxwriter.exceptions import XlsxFileError

    assert output.part is not None
    try:
        yield output.part
    except (OSError, XlsxFileError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        raise CliError(f"cannot write {output.target}: {reason}") from None
    output.commit()


def _unit_codes(wards: WardDirectory, codes: Sequence[str]) -> list[str]:
    """The codes as the list has them (an outdated one mapped, aloud); an unknown one is
    refused."""
    current = []
    for typed in codes:
        code = wards.current_code(typed.strip())
        if code != typed.strip():
            print(f"unit code {typed} is now {code}", file=sys.stderr)
        current.append(code)
    unknown = [typed for typed, code in zip(codes, current, strict=True) if wards.get(code) is None]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise CliError(f"unknown unit code{plural}: {', '.join(unknown)} (see: cdht wards NAME)")
    return current


def _say(translator: Translator, locale: str, text: Text) -> str:
    """A use case's answer in words (its parameters may be texts too)."""
    from bot.engine import Text

    params = {
        key: _say(translator, locale, value) if isinstance(value, Text) else value
        for key, value in text.params.items()
    }
    return translator(locale, text.key, **params)


# -- commands ---------------------------------------------------------------------------------


async def _export_text(
    settings: Settings, fmt: str, ward: str | None, year: int | None = None
) -> tuple[str, int]:
    from bot.app import load_criteria_sets
    from bot.services.export import export_records, render_csv, render_json
    from storage import SqlStore, create_engine, upgrade

    criteria = load_criteria_sets(settings)
    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        records = await export_records(store, criteria, ward, year)
    finally:
        await store.close()
    indicators = sorted({i.id for c in criteria.values() for i in c.indicators})
    text = render_json(records) if fmt == "json" else render_csv(records, indicators)
    return text, len(records)


async def _export_xlsx(settings: Settings, args: argparse.Namespace, output: _Output) -> int:
    """The Excel export, streamed: pages of citizens in, rows out (bounded memory)."""
    from bot.app import load_criteria_sets, load_wards
    from bot.i18n import Translator
    from bot.services.export import record_pages
    from bot.services.report import Targets, build_report
    from bot.services.spreadsheet import export_workbook
    from storage import SqlStore, create_engine, upgrade

    criteria = load_criteria_sets(settings)
    wards = load_wards(settings)
    scope = set(_unit_codes(wards, [args.ward])) if args.ward else None
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            report = await build_report(
                uow, wards, args.year or _this_year(settings), scope, Targets.load(), None
            )
        indicators = sorted({i.id for c in criteria.values() for i in c.indicators})
        pages = record_pages(store, criteria, scope, args.year)
        with _writing(output) as part:
            count = await export_workbook(
                part, pages, report, indicators, wards, translator, locale
            )
    finally:
        await store.close()
    print(f"{count} records written to {output.target}", file=sys.stderr)
    return 0


def _this_year(settings: Settings) -> int:
    from datetime import UTC

    return campaign_year(datetime.now(UTC), settings.campaign_year)


async def _report(settings: Settings, args: argparse.Namespace, output: _Output | None) -> int:
    from bot.app import load_population, load_wards
    from bot.i18n import Translator
    from bot.services.report import Targets, build_report, render_table
    from bot.services.spreadsheet import report_workbook
    from storage import SqlStore, create_engine, upgrade

    wards = load_wards(settings)
    scope = set(_unit_codes(wards, args.ward)) or None
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    population = load_population(settings, wards)
    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            report = await build_report(
                uow, wards, args.year or _this_year(settings), scope, Targets.load(), population
            )
    finally:
        await store.close()
    if args.format == "xlsx":
        assert output is not None
        with _writing(output) as part:
            report_workbook(part, report, translator, locale)
        print(f"report of {len(report.units)} units written to {output.target}", file=sys.stderr)
        return 0
    text = render_table(report, lambda key, **params: translator(locale, key, **params))
    if output is not None:
        with _writing(output) as part:
            part.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


async def _list(settings: Settings, args: argparse.Namespace, output: _Output | None) -> int:
    from datetime import UTC

    from bot.app import load_wards
    from bot.domain.usecases.roles import staff_names
    from bot.i18n import Translator
    from bot.services.lists import LISTS, list_rows, write_list
    from bot.services.spreadsheet import text_rows
    from storage import SqlStore, create_engine, upgrade

    wards = load_wards(settings)
    scope = frozenset(_unit_codes(wards, args.ward)) or None
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    name = args.which.replace("-", "_")
    year = args.year or _this_year(settings)
    now = datetime.now(UTC)

    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            names = await staff_names(uow)
            rows = await list_rows(
                uow, name, scope, year, now, args.days, wards.name_of, names,
                lambda key: translator(locale, key),
            )  # fmt: skip
    finally:
        await store.close()
    if args.format == "xlsx":
        assert output is not None

        with _writing(output) as part:
            write_list(
                part, name, rows, scope=scope, year=year, days=args.days, wards=wards,
                say=translator, locale=locale, made_at=now,
            )  # fmt: skip
        print(f"{len(rows)} rows written to {output.target}", file=sys.stderr)
        return 0
    spec = LISTS[name]
    headers = [translator(locale, h.key, **h.params) for h in spec.headers]
    text = text_rows(headers, rows)
    if output is not None:
        with _writing(output) as part:
            part.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"{len(rows)} rows", file=sys.stderr)
    return 0


def _export(settings: Settings, args: argparse.Namespace, output: _Output | None) -> int:
    from bot.app import load_wards

    ward = _unit_codes(load_wards(settings), [args.ward])[0] if args.ward else None
    text, count = asyncio.run(_export_text(settings, args.format, ward, args.year))
    if output is None:
        sys.stdout.write(text)
        return 0
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    with _writing(output) as part:
        part.write_text(text, encoding=encoding)
    print(f"{count} records written to {output.target}", file=sys.stderr)
    return 0


async def _coordinator(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC

    from bot.app import load_wards
    from bot.domain.usecases.roles import create_invitation
    from storage import SqlStore, create_engine, upgrade

    wards = load_wards(settings)
    if args.staff_command == "invite":
        if not args.ward and not args.admin:
            raise CliError("give --ward CODE (repeatable) or --admin")
        args.ward = _unit_codes(wards, args.ward)
    store = SqlStore(create_engine(settings.effective_database_url))
    now = datetime.now(UTC)
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            if args.staff_command == "invite":
                role = "admin" if args.admin else "coordinator"
                valid = timedelta(days=settings.invite_valid_days)
                code = await create_invitation(uow, role, args.ward, "cli", now, valid)
                names = ", ".join(w.name for c in args.ward if (w := wards.get(c)) is not None)
                print(code)
                print(
                    f"{role} invitation for {names or 'the whole city'}, valid "
                    f"{settings.invite_valid_days} days: send /coordinator {code} to the bot",
                    file=sys.stderr,
                )
            elif args.staff_command == "list" and args.uncovered:
                waiting: dict[str, int] = {}
                for _, citizen in await uow.declarations.pending(None):
                    waiting[citizen.ward_code] = waiting.get(citizen.ward_code, 0) + 1
                uncovered = 0
                for code, count in sorted(waiting.items()):
                    if not await uow.staff.for_ward(code):
                        ward = wards.get(code)
                        print(f"{code}\t{ward.name if ward else '?'}\t{count} waiting")
                        uncovered += 1
                if not uncovered:
                    print("no unit has declarations waiting without a coordinator", file=sys.stderr)
            elif args.staff_command == "list":
                configured = [str(admin) for admin in settings.admins]
                for account in configured:
                    print(f"-\tadmin\tactive\t{account}\tCDHT_ADMINS")
                listed = len(configured)
                for member in await uow.staff.all():
                    if member.role == "none" or member.account in configured:
                        continue  # records that grant nothing; configured admins listed above
                    state = "revoked" if member.revoked_at else "active"
                    names = ", ".join(
                        w.name for c in sorted(member.wards) if (w := wards.get(c)) is not None
                    )
                    print(f"{member.id}\t{member.role}\t{state}\t{member.account}\t{names}")
                    listed += 1
                if not listed:
                    print(
                        "no coordinators or admins yet: invite one with "
                        "`cdht coordinator invite --ward CODE` (or --admin), or name admins "
                        "in CDHT_ADMINS",
                        file=sys.stderr,
                    )
            else:
                return await _revoke(settings, args, uow, now)
        return 0
    finally:
        await store.close()


async def _revoke(
    settings: Settings, args: argparse.Namespace, uow: UnitOfWork, now: datetime
) -> int:
    """``/revoke`` from the command line: the chat's own use case, with its refusals (an
    account from CDHT_ADMINS, one already revoked) and the account told through the outbox;
    its answer in words, as the chat gives it."""
    from bot.domain.usecases.roles import Role
    from bot.engine import t
    from bot.flows.staff import revoke_member
    from bot.i18n import Translator

    # The operator at this machine acts as a configured admin (CDHT_ADMINS is set here too);
    # "cli" is no chat account, so it is never the account revoked ("not yourself" cannot
    # apply), and it is what invitations made here record as their author.
    operator = Role(account="cli", staff=None, admin=True)
    admins = [str(admin) for admin in settings.admins]
    answer = await revoke_member(uow, operator, args.id, admins, now)
    if answer.key == "staff.revoke.unknown":  # the chat's words point to /staff
        answer = t("cli.revoke.unknown", id=args.id)
    translator = Translator(settings.default_locale)
    said = _say(translator, args.locale or settings.default_locale, answer)
    if answer.key == "staff.revoke.done":
        print(said)
        return 0
    print(said, file=sys.stderr)
    return 1


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC

    from bot.domain.usecases.broadcasts import MAX_TEXT, audience, create_broadcast
    from bot.domain.validation import visible_text
    from bot.engine import t
    from storage import SqlStore, create_engine, upgrade

    text = ""
    if args.broadcast_command == "send":
        text = _message(args).strip()
        if len(visible_text(text)) < 2:  # the chat's rule (bot.flows.broadcast)
            what = "too short" if visible_text(text) else "empty"
            raise CliError(f"the message is {what}: give the words to send with --text or --file")
        if len(text) > MAX_TEXT:
            raise CliError(f"the message is {len(text)} characters; at most {MAX_TEXT}")
        if args.ward:
            from bot.app import load_wards

            args.ward = _unit_codes(load_wards(settings), args.ward)
    store = SqlStore(create_engine(settings.effective_database_url))
    now = datetime.now(UTC)
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            if args.broadcast_command == "send":
                year = campaign_year(now, settings.campaign_year)
                filters = audience(
                    wards=args.ward, group=args.group, status=args.status,
                    channel=args.channel, locale=args.locale, year=year,
                )  # fmt: skip
                buttons = (("/declare", t("note.reminder.button")),) if args.continue_button else ()
                created = await create_broadcast(uow, text, filters, "cli", now, args.at, buttons)
                when = "queued now" if created.status == "queued" else f"scheduled for {args.at}"
                print(f"broadcast {created.id}: {created.recipients} recipients, {when}")
                return 0
            found = await uow.broadcasts.get(args.id)
            if found is None:
                raise CliError(f"no broadcast {args.id} (see the numbers `broadcast send` gave)", 1)
            if args.broadcast_command == "cancel":
                if found.status == "cancelled":
                    raise CliError(f"broadcast {args.id} was already cancelled", 1)
                withdrawn = await uow.broadcasts.cancel(args.id)
                print(f"broadcast {args.id} cancelled; {withdrawn} messages withdrawn")
                return 0
            counts = await uow.broadcasts.report(args.id)
            print(f"broadcast {found.id} ({found.status}), recipients {found.recipients}: "
                  + ", ".join(f"{k} {v}" for k, v in counts.items()))  # fmt: skip
        return 0
    finally:
        await store.close()


def _message(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    path: Path = args.file
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"--file {path}: not UTF-8 text") from None
    except IsADirectoryError:
        raise CliError(f"--file {path} is a folder; give the file holding the message") from None
    except OSError as exc:
        raise CliError(f"--file {path}: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already said in one line
        return exc.code if isinstance(exc.code, int) else 2
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.app import configure_logging
    from bot.domain.criteria import CriteriaError
    from storage.db import UnsupportedDatabase, async_url

    command = args.command or "run"
    try:
        async_url(settings.effective_database_url)
    except UnsupportedDatabase as exc:
        print(f"configuration error: CDHT_DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings, chat=command == "console")
    try:
        return _dispatch(args, settings, command)
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except CriteriaError as exc:
        print(f"criteria error: {exc}", file=sys.stderr)
        return 2
    except StorageUnavailable as exc:
        from storage import describe_url

        where = describe_url(settings.effective_database_url)
        print(f"database error: cannot use the database at {where} ({exc})", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `cdht wards | head`: the reader left; end quietly, as Unix tools do. Python's own
        # flush at exit would fail again, so stdout goes to devnull first (the documented
        # recipe: https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool ended this way


def _dispatch(args: argparse.Namespace, settings: Settings, command: str) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        if command == "run":
            return asyncio.run(_run(settings))
        if command == "console":
            return asyncio.run(_console(settings, args.user))
        if command == "db":
            return asyncio.run(_db_upgrade(settings))
        if command == "wards":
            return _wards(settings, " ".join(args.query))
        if command == "broadcast":
            return asyncio.run(_broadcast(settings, args))
        if command == "coordinator":
            return asyncio.run(_coordinator(settings, args))
        if command in ("export", "report", "list"):
            return _to_file(args, settings, command)
    return 130 if command in ("run", "console") else 1


def _to_file(args: argparse.Namespace, settings: Settings, command: str) -> int:
    """The commands that may write a file: its format settled and the file checked before
    the database is read; removed if anything fails before it is complete."""
    offered = ("json", "csv", "xlsx") if command == "export" else ("text", "xlsx")
    args.format = _format(args.format, args.output, offered, offered[0])
    if args.format == "xlsx" and args.output is None:
        raise CliError("--format xlsx needs --output FILE")
    output = _Output(args.output) if args.output is not None else None
    try:
        if command == "export" and args.format == "xlsx":
            assert output is not None
            return asyncio.run(_export_xlsx(settings, args, output))
        if command == "export":
            return _export(settings, args, output)
        if command == "report":
            return asyncio.run(_report(settings, args, output))
        return asyncio.run(_list(settings, args, output))
    finally:
        if output is not None:
            output.discard()


if __name__ == "__main__":
    sys.exit(main())

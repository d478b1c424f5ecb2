"""The ``cdht`` command line (``python -m bot`` is the same)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.engine.ports import Lease, StorageUnavailable

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers import Channel
    from bot.handlers.web import WebServer

__all__ = ["main"]

log = logging.getLogger("cdht")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdht", description="Công dân học tập bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start every configured channel (the console if none)")
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--user", default="local", help="who you are in the console chat")
    db = commands.add_parser("db", help="database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply the Alembic migrations")
    wards = commands.add_parser("wards", help="list or search the province's units")
    wards.add_argument("query", nargs="*", help="part of a name, with or without diacritics")
    staff = commands.add_parser("coordinator", help="ward coordinators and admins")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_commands.add_parser("invite", help="print a one-time invitation code")
    invite.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    invite.add_argument("--admin", action="store_true", help="invite a city admin instead")
    listing = staff_commands.add_parser("list", help="coordinators and admins with their wards")
    listing.add_argument(
        "--uncovered",
        action="store_true",
        help="instead: units with declarations waiting and no coordinator",
    )
    revoke = staff_commands.add_parser("revoke", help="take an account's role away")
    revoke.add_argument("id", type=int)
    bc = commands.add_parser("broadcast", help="campaign messages to registered citizens")
    bc_commands = bc.add_subparsers(dest="broadcast_command", required=True)
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
    send.add_argument("--at", help="ISO time; without a zone, Asia/Ho_Chi_Minh")
    send.add_argument(
        "--continue-button", action="store_true", help='add a "Continue my declaration" button'
    )
    for name in ("cancel", "report"):
        one = bc_commands.add_parser(name, help=f"{name} a broadcast")
        one.add_argument("id", type=int)
    export = commands.add_parser("export", help="one record per citizen")
    export.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    export.add_argument("--ward", help="only this unit's code")
    export.add_argument("--year", type=int, help="only declarations of this campaign year")
    export.add_argument("--output", type=Path, help="write to this file (CSV gets a BOM for Excel)")
    export.add_argument("--locale", choices=("vi", "en"), help="the Excel file's language")
    report = commands.add_parser("report", help="the campaign's figures against the targets")
    report.add_argument("--year", type=int, help="the campaign year (default: this one)")
    report.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    report.add_argument("--format", choices=("text", "xlsx"), default="text")
    report.add_argument("--output", type=Path, help="write to this file (required for xlsx)")
    report.add_argument("--locale", choices=("vi", "en"))
    lists = commands.add_parser("list", help="a ward office's lists")
    lists.add_argument("which", choices=("proposed", "not-started", "waiting"))
    lists.add_argument("--year", type=int, help="the campaign year (default: this one)")
    lists.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    lists.add_argument("--days", type=int, default=7, help="waiting: longer than this many days")
    lists.add_argument("--format", choices=("text", "xlsx"), default="text")
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
    from bot.app import build_app
    from bot.handlers import configured_channels
    from bot.handlers.console import ConsoleChannel
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
        stop = asyncio.Event()
        if not channels:
            print(
                "No channel token configured (CDHT_TELEGRAM_TOKEN, CDHT_ZALO_TOKEN); "
                "starting the console chat."
            )
            console = ConsoleChannel(app.engine, app.translator, settings.default_locale)
            app.evidence.register(console.name, console.fetch_file)
            await _serve(app, [console], stop, until=console.run)
            return 0
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("serving %s", ", ".join(_described(channel) for channel in channels))
        await _serve(app, channels, stop, web_server=web_server)
        return 0
    finally:
        await app.close()


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

    def led(inner: asyncio.Event) -> list[Awaitable[None]]:
        return [
            *(sender.run(inner) for sender in senders),
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
LEASE_CHECK_SECONDS = 2.0  # how often the leader checks that it still holds the lease


async def _while_leading(
    app: App, stop: asyncio.Event, jobs: Callable[[asyncio.Event], list[Awaitable[None]]]
) -> None:
    """The outbox senders, the scheduler and the housekeeping run in one process at a time:
    the holder of the "leader" lease (always this one on SQLite; on PostgreSQL an advisory lock
    that a killed process's connection gives up). The others ask again every second, so that a
    dead leader's work moves within about ``LEAD_RETRY_SECONDS`` + the kernel closing its socket;
    one sender for the cluster keeps the platforms' rate limits for all processes together."""
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

        async def watch(held: Lease = lease, inner: asyncio.Event = inner) -> None:
            while not stop.is_set() and not inner.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), LEASE_CHECK_SECONDS)
                if not stop.is_set() and not await held.alive():
                    log.warning("lost the leader lease; another process takes over")
                    break
            inner.set()

        try:
            await asyncio.gather(watch(), *jobs(inner))
        finally:
            await lease.release()


async def _console(settings: Settings, user: str) -> int:
    from bot.app import build_app
    from bot.handlers.console import ConsoleChannel

    app = build_app(settings)
    try:
        await app.migrate()
        console = ConsoleChannel(app.engine, app.translator, settings.default_locale, user)
        app.evidence.register(console.name, console.fetch_file)
        await _serve(app, [console], asyncio.Event(), until=console.run)
        return 0
    finally:
        await app.close()


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
    found = directory.search(query, limit=20) if query else list(directory.all())
    for ward in found:
        print(f"{ward.code}\t{ward.name}")
    if not found:
        print(f"no unit matches {query!r}", file=sys.stderr)
        return 1
    print(f"{len(found)} of {len(directory)} units ({directory.data_version})", file=sys.stderr)
    return 0


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


async def _export_xlsx(settings: Settings, args: argparse.Namespace) -> int:
    """The Excel export, streamed: pages of citizens in, rows out (bounded memory)."""
    from bot.app import load_criteria_sets, load_wards
    from bot.i18n import Translator
    from bot.services.export import record_pages
    from bot.services.report import Targets, build_report
    from bot.services.spreadsheet import export_workbook
    from storage import SqlStore, create_engine, upgrade

    criteria = load_criteria_sets(settings)
    wards = load_wards(settings)
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    scope = {args.ward} if args.ward else None
    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            report = await build_report(
                uow, wards, args.year or _this_year(settings), scope, Targets.load(), None
            )
        indicators = sorted({i.id for c in criteria.values() for i in c.indicators})
        pages = record_pages(store, criteria, scope, args.year)
        count = await export_workbook(
            args.output, pages, report, indicators, wards, translator, locale
        )
    finally:
        await store.close()
    print(f"{count} records written to {args.output}", file=sys.stderr)
    return 0


def _this_year(settings: Settings) -> int:
    from datetime import UTC, datetime, timedelta

    return settings.campaign_year or (datetime.now(UTC) + timedelta(hours=7)).year


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import load_wards
    from bot.i18n import Translator
    from bot.services.report import Population, Targets, build_report, render_table
    from bot.services.spreadsheet import report_workbook
    from storage import SqlStore, create_engine, upgrade

    wards = load_wards(settings)
    unknown = [code for code in args.ward if wards.get(wards.current_code(code)) is None]
    if unknown:
        print(f"unknown unit code: {', '.join(unknown)} (see cdht wards)", file=sys.stderr)
        return 2
    if args.format == "xlsx" and args.output is None:
        print("--format xlsx needs --output FILE", file=sys.stderr)
        return 2
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    population = Population.from_csv(settings.population_csv) if settings.population_csv else None
    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            report = await build_report(
                uow,
                wards,
                args.year or _this_year(settings),
                set(args.ward) or None,
                Targets.load(),
                population,
            )
    finally:
        await store.close()
    if args.format == "xlsx":
        report_workbook(args.output, report, translator, locale)
        print(f"report of {len(report.units)} units written to {args.output}", file=sys.stderr)
        return 0
    text = render_table(report, lambda key, **params: translator(locale, key, **params))
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.app import load_wards
    from bot.flows.reports import LISTS, list_rows
    from bot.i18n import Translator
    from bot.services.spreadsheet import list_workbook
    from bot.services.staff import staff_names
    from storage import SqlStore, create_engine, upgrade

    if args.format == "xlsx" and args.output is None:
        print("--format xlsx needs --output FILE", file=sys.stderr)
        return 2
    wards = load_wards(settings)
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    name = args.which.replace("-", "_")

    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            names = await staff_names(uow)
            rows = await list_rows(
                uow, name, frozenset(args.ward) or None, args.year or _this_year(settings),
                datetime.now(UTC), args.days, wards.name_of, names,
                lambda key: translator(locale, key),
            )  # fmt: skip
    finally:
        await store.close()
    spec = LISTS[name]
    headers = [translator(locale, h.key, **h.params) for h in spec.headers]
    if args.format == "xlsx":
        list_workbook(args.output, translator(locale, spec.title.key), headers, spec.widths, rows)
        print(f"{len(rows)} rows written to {args.output}", file=sys.stderr)
        return 0
    from bot.services.spreadsheet import text_rows

    text = text_rows(headers, rows)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"{len(rows)} rows", file=sys.stderr)
    return 0


def _export(
    settings: Settings, fmt: str, ward: str | None, year: int | None, output: Path | None
) -> int:
    text, count = asyncio.run(_export_text(settings, fmt, ward, year))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        print(f"{count} records written to {output}", file=sys.stderr)
    return 0


async def _coordinator(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from bot.app import load_wards
    from bot.services.staff import create_invitation
    from storage import SqlStore, create_engine, upgrade

    wards = load_wards(settings)
    store = SqlStore(create_engine(settings.effective_database_url))
    now = datetime.now(UTC)
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            if args.staff_command == "invite":
                for old in args.ward:  # a code from an older list (2025.10.1) is mapped, aloud
                    if (new := wards.current_code(old)) != old:
                        print(f"unit code {old} is now {new}", file=sys.stderr)
                args.ward = [wards.current_code(code) for code in args.ward]
                unknown = [code for code in args.ward if wards.get(code) is None]
                if unknown or (not args.ward and not args.admin):
                    print(
                        f"unknown unit code(s): {', '.join(unknown)} (see: cdht wards NAME)"
                        if unknown
                        else "give --ward CODE (repeatable) or --admin",
                        file=sys.stderr,
                    )
                    return 2
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
                for code, count in sorted(waiting.items()):
                    if not await uow.staff.for_ward(code):
                        ward = wards.get(code)
                        print(f"{code}\t{ward.name if ward else '?'}\t{count} waiting")
            elif args.staff_command == "list":
                configured = [str(admin) for admin in settings.admins]
                for account in configured:
                    print(f"-\tadmin\tactive\t{account}\tCDHT_ADMINS")
                for member in await uow.staff.all():
                    if member.role == "none" or member.account in configured:
                        continue  # records that grant nothing; configured admins listed above
                    state = "revoked" if member.revoked_at else "active"
                    names = ", ".join(
                        w.name for c in sorted(member.wards) if (w := wards.get(c)) is not None
                    )
                    print(f"{member.id}\t{member.role}\t{state}\t{member.account}\t{names}")
            elif not await uow.staff.revoke(args.id, now):
                print(f"no active account with id {args.id}", file=sys.stderr)
                return 1
            else:
                print(f"account {args.id} revoked")
        return 0
    finally:
        await store.close()


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta, timezone

    from bot.engine import t
    from bot.services.broadcast import audience, create_broadcast
    from storage import SqlStore, create_engine, upgrade

    store = SqlStore(create_engine(settings.effective_database_url))
    now = datetime.now(UTC)
    try:
        await upgrade(store.engine)
        async with store.transaction() as uow:
            if args.broadcast_command == "send":
                text = args.text if args.text else args.file.read_text(encoding="utf-8")
                at = None
                if args.at:
                    at = datetime.fromisoformat(args.at)
                    if at.tzinfo is None:
                        at = at.replace(tzinfo=timezone(timedelta(hours=7)))
                year = settings.campaign_year or (now + timedelta(hours=7)).year
                filters = audience(
                    wards=args.ward, group=args.group, status=args.status,
                    channel=args.channel, locale=args.locale, year=year,
                )  # fmt: skip
                buttons = (("/declare", t("note.reminder.button")),) if args.continue_button else ()
                created = await create_broadcast(
                    uow, text.strip(), filters, "cli", now, at, buttons
                )
                when = "queued now" if created.status == "queued" else f"scheduled for {at}"
                print(f"broadcast {created.id}: {created.recipients} recipients, {when}")
            elif args.broadcast_command == "cancel":
                withdrawn = await uow.broadcasts.cancel(args.id)
                print(f"broadcast {args.id} cancelled; {withdrawn} messages withdrawn")
            else:
                found = await uow.broadcasts.get(args.id)
                if found is None:
                    print(f"no broadcast {args.id}", file=sys.stderr)
                    return 1
                counts = await uow.broadcasts.report(args.id)
                print(f"broadcast {found.id} ({found.status}), recipients {found.recipients}: "
                      + ", ".join(f"{k} {v}" for k, v in counts.items()))  # fmt: skip
        return 0
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.app import configure_logging
    from bot.services.criteria import CriteriaError

    configure_logging(settings)
    command = args.command or "run"
    try:
        return _dispatch(args, settings, command)
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
        if command == "export" and args.format == "xlsx":
            if args.output is None:
                print("--format xlsx needs --output FILE", file=sys.stderr)
                return 2
            return asyncio.run(_export_xlsx(settings, args))
        if command == "export":
            return _export(settings, args.format, args.ward, args.year, args.output)
        if command == "report":
            return asyncio.run(_report(settings, args))
        if command == "list":
            return asyncio.run(_list(settings, args))
    return 130 if command in ("run", "console") else 1


if __name__ == "__main__":
    sys.exit(main())

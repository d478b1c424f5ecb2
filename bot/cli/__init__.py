"""The ``cdht`` command line (``python -m bot`` is the same).

Every mistake ends in one line on stderr, never a traceback, and a non-zero exit: 2 for a
wrong command line or configuration (what it was and what to write instead), 1 for something
asked for that is not there or not allowed (a broadcast, an account). A file asked for with
``--output`` is written whole or not at all.

By concern: ``parser`` (the commands and options), ``supervision`` (``run`` and ``console``:
the serving process, its leases and signals), the admin commands (``admin``: db and wards;
``staff``: coordinators; ``broadcasts``; ``reports``: export, report, lists, with ``files``
for what they write), each opening the store through ``store.open_store``. The commands call
the domain's use cases (``bot.domain.usecases``) and the services, never a flow."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from bot.cli import admin, broadcasts, reports, staff, supervision
from bot.cli.parser import channel_commands, parser
from bot.cli.shared import CliError
from bot.config import ConfigError, Settings, load_settings
from bot.engine.ports import StorageUnavailable

__all__ = ["CliError", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
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


def _serve(main: Coroutine[Any, Any, int], wanted: str) -> int:
    """Run ``cdht run`` on the event loop ``CDHT_EVENT_LOOP`` names: uvloop's by default
    (libuv under asyncio's interface, https://uvloop.readthedocs.io/), where every round trip
    to the database and to the platform costs less of the loop's own work; asyncio's where
    uvloop is not installed (Windows) or when asked for."""
    if wanted == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass  # the log's "serving … on asyncio's event loop" says so
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def _dispatch(args: argparse.Namespace, settings: Settings, command: str) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        if command == "run":
            return _serve(supervision.run(settings), settings.event_loop)
        if command == "console":
            return asyncio.run(supervision.console(settings, args.user))
        if command == "db":
            return asyncio.run(admin.db_upgrade(settings))
        if command == "wards":
            return admin.wards(settings, " ".join(args.query))
        if command == "broadcast":
            return asyncio.run(broadcasts.broadcast(settings, args))
        if command == "reminder":
            return asyncio.run(broadcasts.reminder(settings, args))
        if command == "coordinator":
            return asyncio.run(staff.coordinator(settings, args))
        if command == "org":
            return asyncio.run(staff.org(settings, args))
        if command in ("export", "report", "list"):
            return reports.to_file(args, settings, command)
        for module in channel_commands():
            if command in module.COMMANDS:
                return int(asyncio.run(module.run_command(args, settings)))
    return 130 if command in ("run", "console") else 1

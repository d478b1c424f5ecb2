"""``cdht broadcast send|cancel|report|resend``: campaign messages from the server, through the
chat's and the web console's use cases (``bot.domain.usecases.broadcasts``), sent as the
operator at this machine (``OPERATOR``, a configured admin)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.shared import CliError, unit_codes
from bot.cli.store import open_store
from bot.config import Settings
from bot.domain.calendar import campaign_year
from bot.domain.collation import collation_key

if TYPE_CHECKING:
    from bot.domain.ports import UnitOfWork

__all__ = ["broadcast", "message", "reminder"]

# what each event's step reminds of, on `cdht reminder list`
_EVENTS = {
    "registered": "days after registering, if not started",
    "idle": "days after a draft's last change, if not submitted",
    "returned": "days after a return, if not resubmitted",
}

# what the CLI says of a text the use case would refuse, before the database is opened
_TEXT_PROBLEMS = {"empty": "empty", "short": "too short"}


async def broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.usecases.broadcasts import MAX_TEXT, text_problem

    text = ""
    if args.broadcast_command == "send":
        text = message(args).strip()
        problem = text_problem(text)  # the chat's rule, said before anything is opened
        if problem in _TEXT_PROBLEMS:
            raise CliError(
                f"the message is {_TEXT_PROBLEMS[problem]}: give the words to send with "
                "--text or --file"
            )
        if problem == "long":
            raise CliError(f"the message is {len(text)} characters; at most {MAX_TEXT}")
        if args.ward:
            from bot.app import load_wards

            args.ward = unit_codes(load_wards(settings), args.ward)
    if args.broadcast_command == "send":
        return await _send(settings, args, text)
    return await _one(settings, args)


async def _send(settings: Settings, args: argparse.Namespace, text: str) -> int:
    from bot.domain.usecases.broadcasts import audience
    from bot.domain.usecases.broadcasts import broadcast as send
    from bot.domain.usecases.roles import OPERATOR
    from bot.engine import t

    now = datetime.now(UTC)
    async with open_store(settings) as store, store.transaction() as uow:
        year = campaign_year(now, settings.campaign_year)
        filters = audience(
            wards=args.ward, group=args.group, status=args.status,
            channel=args.channel, locale=args.locale, year=year,
        )  # fmt: skip
        buttons = (("/declare", t("note.reminder.button")),) if args.continue_button else ()
        sent = await send(uow, OPERATOR, text, filters, now, args.at, buttons)
        if sent.broadcast is None:  # the operator may broadcast anywhere: a text refused
            raise CliError(f"the broadcast was refused ({sent.problem})", 1)
        created = sent.broadcast
    when = "queued now" if created.status == "queued" else f"scheduled for {args.at}"
    print(f"broadcast {created.id}: {created.recipients} recipients, {when}")
    return 0


async def _one(settings: Settings, args: argparse.Namespace) -> int:
    """``cancel`` or ``report`` one broadcast."""
    from bot.domain.usecases.broadcasts import cancel_broadcast, visible_broadcast
    from bot.domain.usecases.roles import OPERATOR

    async with open_store(settings) as store, store.transaction() as uow:
        found = await visible_broadcast(uow, OPERATOR, args.id)
        if found is None:
            raise CliError(f"no broadcast {args.id} (see the numbers `broadcast send` gave)", 1)
        if args.broadcast_command == "cancel":
            if found.status == "cancelled":
                raise CliError(f"broadcast {args.id} was already cancelled", 1)
            withdrawn = await cancel_broadcast(uow, OPERATOR, args.id)
            print(f"broadcast {args.id} cancelled; {withdrawn} messages withdrawn")
            return 0
        if args.broadcast_command == "resend":
            return await _resend(uow, args)
        counts = await uow.broadcasts.report(args.id)
        print(f"broadcast {found.id} ({found.status}), recipients {found.recipients}: "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))  # fmt: skip
        by_ward = await uow.broadcasts.report_by_ward(args.id)
    from bot.app import load_wards

    wards = load_wards(settings)
    named = [(code, wards.name_of(code, code) if code else "-", n) for code, n in by_ward.items()]
    rows = sorted(named, key=lambda row: collation_key(row[1]))  # Vietnamese order
    for code, name, ward_counts in rows:  # a unit's line: only the states it has
        shown = ", ".join(f"{k} {ward_counts[k]}" for k in counts if ward_counts.get(k))
        print(f"{code or '-'}\t{name}\t{shown}")
    if args.xlsx is not None:
        from bot.services.spreadsheet import broadcast_workbook

        states = list(counts)
        broadcast_workbook(args.xlsx, found, states, [(n, c) for _, n, c in rows])
        print(f"written: {args.xlsx}", file=sys.stderr)
    return 0


async def _resend(uow: UnitOfWork, args: argparse.Namespace) -> int:
    """Count those the broadcast did not reach, by reason; with ``--yes`` send to them."""
    from bot.domain.usecases.broadcasts import resend_missed
    from bot.domain.usecases.roles import OPERATOR

    missed = await resend_missed(uow, OPERATOR, args.id, datetime.now(UTC), bool(args.yes))
    if missed.problem == "cancelled":
        raise CliError(f"broadcast {args.id} was cancelled: nothing to send again", 1)
    reasons = ", ".join(f"{k} {v}" for k, v in missed.counts.items()) or "none"
    if not missed.total:
        print(f"broadcast {args.id}: everyone it could reach has it or is still waiting")
        return 0
    if not args.yes:
        print(f"broadcast {args.id}: {missed.total} did not receive it ({reasons}); "
              "run again with --yes to send to exactly them")  # fmt: skip
        return 0
    print(f"broadcast {args.id}: sending again to {missed.queued} ({reasons})")
    return 0


def message(args: argparse.Namespace) -> str:
    """The text of ``--text``, or of the UTF-8 file ``--file`` names."""
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


async def reminder(settings: Settings, args: argparse.Namespace) -> int:
    """``cdht reminder list|add|set``: the campaign's reminder steps (``reminder_steps``),
    each with how many people it would remind now, as the scheduler would (nothing is sent)."""
    from bot.app import reminder_rules
    from bot.services.schedule import Scheduler

    now = datetime.now(UTC)
    days = getattr(args, "days", None)
    if days is not None and not 1 <= days <= 365:
        raise CliError("--days is a whole number from 1 to 365")
    async with open_store(settings) as store, store.transaction() as uow:
        scheduler = Scheduler(store, (), reminders=reminder_rules(settings))
        await scheduler.steps(uow, now)  # the configured defaults, on a first run
        if args.reminder_command == "add":
            if await uow.broadcasts.add_step(args.event, int(args.days), "cli", now) is None:
                raise CliError(f"a {args.event} step of {days} days exists already", 1)
        elif args.reminder_command == "set":
            if days is None and not args.on and not args.off:
                raise CliError("give --days N, --on or --off")
            active = True if args.on else False if args.off else None
            if not await uow.broadcasts.set_step(args.id, days, active, "cli", now):
                raise CliError(
                    f"no step {args.id}, or its event has a step of {days} days already", 1
                )
        steps = await uow.broadcasts.steps()
        counts = await scheduler.step_counts(uow, now)
    for step in steps:
        state = "on" if step.active else "off"
        print(f"{step.id}\t{step.event}\t{step.days} {_EVENTS.get(step.event, 'days')}"
              f"\t{state}\t{counts.get(step.id, 0)} now")  # fmt: skip
    return 0

"""The command line's words: every command and option, with the types that check a year, a
number of days and a time. Its errors are one line (its usage block is what ``--help`` is
for)."""

from __future__ import annotations

import argparse
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.domain.calendar import VN_TIME
from bot.domain.permissions import invitable
from bot.domain.records import REMINDER_EVENTS
from bot.handlers.registry import CHANNEL_NAMES, CHANNELS

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction["_Parser"]

__all__ = ["FIRST_YEAR", "LAST_YEAR", "at", "days", "parser", "year"]

FIRST_YEAR, LAST_YEAR = 2020, 2100  # the range CDHT_CAMPAIGN_YEAR accepts


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (its usage block is what ``--help`` is for)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def year(text: str) -> int:
    try:
        found = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year; write e.g. 2026") from None
    if not FIRST_YEAR <= found <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{found} is not a campaign year ({FIRST_YEAR} to {LAST_YEAR})"
        )
    return found


def days(text: str) -> int:
    try:
        found = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 <= found <= 3650:
        raise argparse.ArgumentTypeError(f"{found}: give a number of days from 0 to 3650")
    return found


def at(text: str) -> datetime:
    """An ISO date and time; without a zone, Asia/Ho_Chi_Minh."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time; write e.g. 2026-12-01T08:00 "
            "(without a zone: Asia/Ho_Chi_Minh)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=VN_TIME)


def parser() -> argparse.ArgumentParser:
    """``cdht``'s commands, in the order ``--help`` lists them."""
    found = _Parser(prog="cdht", description="Công dân học tập bot")
    commands = found.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="start every configured channel (the console if none)")
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--user", default="local", help="who you are in the console chat")
    db = commands.add_parser("db", help="database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="upgrade")
    db_commands.add_parser("upgrade", help="apply the Alembic migrations")
    wards = commands.add_parser("wards", help="list or search the province's units")
    wards.add_argument("query", nargs="*", help="part of a name, with or without diacritics")
    _staff(commands)
    _orgs(commands)
    _broadcast(commands)
    _reminder(commands)
    _files(commands)
    for module in channel_commands():
        module.add_commands(commands)
    return found


def channel_commands() -> list[Any]:
    """The modules of the channels' own commands (``ChannelDescription.commands``)."""
    return [import_module(channel.commands) for channel in CHANNELS if channel.commands]


def _staff(commands: Commands) -> None:
    staff = commands.add_parser("coordinator", help="ward coordinators, officers and admins")
    staff_commands = staff.add_subparsers(
        dest="staff_command", required=True, metavar="{invite,list,revoke,capacity}"
    )
    invite = staff_commands.add_parser("invite", help="print a one-time invitation code")
    where = invite.add_mutually_exclusive_group()
    where.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    where.add_argument(
        "--all-wards", action="store_true", help="every unit of the city (an officer's)"
    )
    invite.add_argument(
        "--org", type=int, help="an organisation's number (`cdht org list`): its verifier"
    )
    invite.add_argument(
        "--decide",
        action="store_true",
        help="an officer who reviews and decides where a unit of its has no coordinator",
    )
    role = invite.add_mutually_exclusive_group()
    role.add_argument("--admin", action="store_true", help="invite a city admin instead")
    role.add_argument(
        "--role",
        choices=invitable(),  # the permissions table's rows
        help="the role to invite (default: coordinator; --role admin is --admin)",
    )
    listing = staff_commands.add_parser(
        "list", help="coordinators, officers and admins with their wards"
    )
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
    capacity = staff_commands.add_parser(
        "capacity", help="how many open declarations a reviewer is given at most"
    )
    capacity.add_argument("id", type=int, help="the number `cdht coordinator list` shows")
    capacity.add_argument(
        "n", help="open declarations at most (0: none new), or 'default' (CDHT_REVIEW_CAPACITY)"
    )


def _orgs(commands: Commands) -> None:
    org = commands.add_parser("org", help="schools, agencies and enterprises citizens name")
    org_commands = org.add_subparsers(dest="org_command", required=True, metavar="{add,list}")
    add = org_commands.add_parser("add", help="add one; prints its number")
    add.add_argument("--name", required=True, help="its name as citizens will find it")
    add.add_argument("--ward", required=True, help="the code of the unit it is in")
    org_commands.add_parser("list", help="every organisation with its number and unit")


def _broadcast(commands: Commands) -> None:
    bc = commands.add_parser("broadcast", help="campaign messages to registered citizens")
    bc_commands = bc.add_subparsers(
        dest="broadcast_command", required=True, metavar="{send,cancel,report,resend}"
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
    send.add_argument("--channel", choices=CHANNEL_NAMES)
    send.add_argument("--locale", choices=("vi", "en"))
    send.add_argument("--at", type=at, help="ISO time; without a zone, Asia/Ho_Chi_Minh")
    send.add_argument(
        "--continue-button", action="store_true", help='add a "Continue my declaration" button'
    )
    cancel = bc_commands.add_parser("cancel", help="cancel a broadcast")
    cancel.add_argument("id", type=int)
    report = bc_commands.add_parser(
        "report", help="each delivery state with its reason, in all and for each unit"
    )
    report.add_argument("id", type=int)
    report.add_argument(
        "--xlsx", type=Path, help="also write the states for each unit to this Excel file"
    )
    resend = bc_commands.add_parser(
        "resend", help="count those a broadcast did not reach; with --yes, send to exactly them"
    )
    resend.add_argument("id", type=int)
    resend.add_argument("--yes", action="store_true", help="send now (else only count)")


def _reminder(commands: Commands) -> None:
    steps = commands.add_parser("reminder", help="the campaign's reminder steps")
    step_commands = steps.add_subparsers(
        dest="reminder_command", required=True, metavar="{list,add,set}"
    )
    step_commands.add_parser("list", help="each step, and how many people it would remind now")
    add = step_commands.add_parser("add", help="a new step")
    add.add_argument("--event", required=True, choices=REMINDER_EVENTS)
    add.add_argument("--days", required=True, type=int, help="days after the event (1–365)")
    change = step_commands.add_parser("set", help="change a step's days, or turn it on or off")
    change.add_argument("id", type=int, help="the number `cdht reminder list` shows")
    change.add_argument("--days", type=int, help="days after the event (1–365)")
    state = change.add_mutually_exclusive_group()
    state.add_argument("--on", action="store_true")
    state.add_argument("--off", action="store_true")


def _files(commands: Commands) -> None:
    """The commands that read the campaign out, to the terminal or a file."""
    export = commands.add_parser("export", help="one record per citizen")
    export.add_argument(
        "--format", choices=("json", "csv", "xlsx"), help="default: from --output's name, or json"
    )
    export.add_argument("--ward", help="only this unit's code")
    export.add_argument("--year", type=year, help="only declarations of this campaign year")
    export.add_argument("--output", type=Path, help="write to this file (CSV gets a BOM for Excel)")
    export.add_argument("--locale", choices=("vi", "en"), help="the Excel file's language")
    report = commands.add_parser("report", help="the campaign's figures against the targets")
    report.add_argument("--year", type=year, help="the campaign year (default: this one)")
    report.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    report.add_argument(
        "--format", choices=("text", "xlsx"), help="default: from --output's name, or text"
    )
    report.add_argument("--output", type=Path, help="write to this file (required for xlsx)")
    report.add_argument("--locale", choices=("vi", "en"))
    lists = commands.add_parser("list", help="a ward office's lists")
    lists.add_argument("which", choices=("proposed", "not-started", "waiting"))
    lists.add_argument("--year", type=year, help="the campaign year (default: this one)")
    lists.add_argument("--ward", action="append", default=[], help="a unit's code (repeatable)")
    lists.add_argument("--days", type=days, default=7, help="waiting: longer than this many days")
    lists.add_argument(
        "--format", choices=("text", "xlsx"), help="default: from --output's name, or text"
    )
    lists.add_argument("--output", type=Path, help="write to this file (required for xlsx)")
    lists.add_argument("--locale", choices=("vi", "en"))

"""``cdht coordinator invite|list|revoke``: the staff, managed from the server. Inviting and
revoking are the chat's own use cases (``bot.domain.usecases.roles``), done as the operator at
this machine (``OPERATOR``, a configured admin), with the chat's refusals and the chat's words
for them. ``--role`` names any row of the permissions table (``--admin``: ``--role admin``;
neither: a coordinator); a role held for wards needs ``--ward`` (or, for an officer,
``--all-wards``); ``--decide`` lets an officer review and decide where a ward of its has no
coordinator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.cli.shared import CliError, say, unit_codes
from bot.cli.store import open_store
from bot.config import Settings
from bot.domain.permissions import (
    ADMIN,
    COORDINATOR,
    VERIFIER,
    org_bound,
    role_label,
    stands_in,
    ward_bound,
)

if TYPE_CHECKING:
    from bot.domain.ports import UnitOfWork
    from bot.domain.wards import WardDirectory

__all__ = ["coordinator", "org"]


async def coordinator(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import load_wards

    wards = load_wards(settings)
    if args.staff_command == "invite":
        args.role = args.role or (
            ADMIN if args.admin else VERIFIER if args.org is not None else COORDINATOR
        )
        if (args.org is not None) != org_bound(args.role):
            raise CliError(
                "--org ID is a verifier's, and a verifier needs it: --org ID (see: cdht org list)"
            )
        if args.decide and not stands_in(args.role):
            raise CliError(f"--decide is an officer's: --role {args.role} cannot be given it")
        if args.all_wards and (args.role == COORDINATOR or not ward_bound(args.role)):
            # a coordinator is its wards' own; the whole city's role needs no list
            raise CliError(f"--all-wards is not for --role {args.role}: give --ward CODE")
        if org_bound(args.role) and (args.ward or args.all_wards or args.decide):
            raise CliError("a verifier is its organisation's: give --org ID alone")
        if ward_bound(args.role) and not args.ward and not args.all_wards:
            if args.role == COORDINATOR:
                raise CliError("give --ward CODE (repeatable) or --admin")
            raise CliError(
                f"--role {args.role} is held for units: give --ward CODE (repeatable) "
                "or --all-wards"
            )
        args.ward = (
            [ward.code for ward in wards.all()] if args.all_wards else unit_codes(wards, args.ward)
        )
    now = datetime.now(UTC)
    async with open_store(settings) as store, store.transaction() as uow:
        if args.staff_command == "invite":
            return await _invite(settings, args, wards, uow, now)
        if args.staff_command == "list" and args.uncovered:
            return await _uncovered(wards, uow)
        if args.staff_command == "list":
            return await _listed(settings, wards, uow)
        if args.staff_command == "capacity":
            return await _capacity(settings, args, uow)
        return await _revoke(settings, args, uow, now)


async def _invite(
    settings: Settings,
    args: argparse.Namespace,
    wards: WardDirectory,
    uow: UnitOfWork,
    now: datetime,
) -> int:
    """A one-time code on stdout; what it grants, for how long and how to use it on stderr."""
    from bot.domain.usecases.roles import OPERATOR, invite

    kind = str(args.role)
    valid = timedelta(days=settings.invite_valid_days)
    invited = await invite(uow, OPERATOR, kind, args.ward, now, valid, bool(args.decide), args.org)
    if invited.problem == "no_org":
        raise CliError(f"no organisation {args.org} (see: cdht org list)", 1)
    if invited.code is None:  # the operator may invite, and a coordinator has wards here
        raise CliError(f"the invitation was refused ({invited.problem})", 1)
    print(invited.code)
    if args.org is not None:
        found = await uow.orgs.get(args.org)
        print(
            f"verifier invitation for {found.name if found else args.org}, valid "
            f"{settings.invite_valid_days} days: send /coordinator {invited.code} to the bot",
            file=sys.stderr,
        )
        return 0
    deciding = ", deciding where a unit has no coordinator" if invited.decides else ""
    print(
        f"{kind} invitation for {_places(wards, invited.wards) or 'the whole city'}{deciding}, "
        f"valid {settings.invite_valid_days} days: send /coordinator {invited.code} to the bot",
        file=sys.stderr,
    )
    return 0


def _places(wards: WardDirectory, codes: Sequence[str]) -> str:
    """The units' names in this order; every unit of the city, as such."""
    if codes and len(set(codes)) >= len(wards):
        return f"all {len(wards)} units"
    return ", ".join(w.name for c in codes if (w := wards.get(c)) is not None)


async def _uncovered(wards: WardDirectory, uow: UnitOfWork) -> int:
    """The units with declarations waiting and no coordinator, with how many wait."""
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
    return 0


async def _listed(settings: Settings, wards: WardDirectory, uow: UnitOfWork) -> int:
    """The admins of CDHT_ADMINS, then every record that grants or granted a role."""
    configured = [str(admin) for admin in settings.admins]
    for account in configured:
        print(f"-\tadmin\tactive\t{account}\tCDHT_ADMINS")
    listed = len(configured)
    for member in await uow.staff.all():
        if role_label(member.role) is None or member.account in configured:
            continue  # records that grant nothing; configured admins listed above
        state = "revoked" if member.revoked_at else "active"
        names = _places(wards, sorted(member.wards))
        if member.decides:
            names += " (decides where a unit has no coordinator)"
        if member.capacity is not None:
            names += f" (given at most {member.capacity} open)"
        if member.away_since is not None and not member.revoked_at:
            state = "away"
        print(f"{member.id}\t{member.role}\t{state}\t{member.account}\t{names}")
        listed += 1
    if not listed:
        print(
            "no coordinators or admins yet: invite one with "
            "`cdht coordinator invite --ward CODE` (or --admin), or name admins "
            "in CDHT_ADMINS",
            file=sys.stderr,
        )
    return 0


async def _capacity(settings: Settings, args: argparse.Namespace, uow: UnitOfWork) -> int:
    """``cdht coordinator capacity ID N``: how many open declarations the reviewer is given
    at most (``default``: CDHT_REVIEW_CAPACITY); what it has open now, on stderr."""
    raw = str(args.n).strip().lower()
    if raw != "default" and not (raw.isdigit() and int(raw) <= 10_000):
        raise CliError("N is a whole number from 0 to 10000, or 'default'")
    capacity = None if raw == "default" else int(raw)
    if not await uow.staff.set_capacity(args.id, capacity):
        raise CliError(f"no active staff member #{args.id} (see: cdht coordinator list)", 1)
    (count, _) = (await uow.declarations.open_load([args.id])).get(args.id, (0, None))
    shown = f"{settings.review_capacity} (the default)" if capacity is None else str(capacity)
    print(f"#{args.id} is given at most {shown} open declarations; {count} open now")
    return 0


async def _revoke(
    settings: Settings, args: argparse.Namespace, uow: UnitOfWork, now: datetime
) -> int:
    """``/revoke`` from the command line: the chat's own use case, with its refusals (an
    account from CDHT_ADMINS, an unknown number, one already revoked), the reviews the account
    held released and the account told through the outbox; its answer in words, as the chat
    gives it, in ``--locale`` (else the bot's language). A refusal exits 1."""
    from bot.domain.usecases.roles import OPERATOR, revoke
    from bot.engine import t
    from bot.i18n import Translator

    admins = [str(admin) for admin in settings.admins]
    answer = await revoke(uow, OPERATOR, args.id, admins, now)
    if answer.key == "staff.revoke.unknown":  # the chat's words point to /staff
        answer = t("cli.revoke.unknown", id=args.id)
    translator = Translator(settings.default_locale)
    said = say(translator, args.locale or settings.default_locale, answer)
    if answer.key == "staff.revoke.done":
        print(said)
        return 0
    print(said, file=sys.stderr)
    return 1


async def org(settings: Settings, args: argparse.Namespace) -> int:
    """``cdht org add|list``: the organisations citizens name as workplace or school."""
    from bot.app import load_wards
    from bot.domain.validation import ValidationError, normalize_free_text

    wards = load_wards(settings)
    now = datetime.now(UTC)
    if args.org_command == "add":
        (code,) = unit_codes(wards, [args.ward])
        try:
            name = normalize_free_text(args.name, 150)
        except ValidationError:
            raise CliError(
                "give the organisation's name in words (at most 150 characters)"
            ) from None
    async with open_store(settings) as store, store.transaction() as uow:
        if args.org_command == "add":
            added = await uow.orgs.add(name, code, "cli", now)
            if added is None:
                raise CliError(f"{name} is already in {wards.name_of(code)}", 1)
            print(added.id)
            print(f"{name}, {wards.name_of(code)}: number {added.id}", file=sys.stderr)
            return 0
        found = await uow.orgs.all()
    for item in found:
        print(f"{item.id}\t{item.name}\t{item.ward_code}\t{wards.name_of(item.ward_code)}")
    if not found:
        print("no organisations yet: cdht org add --name NAME --ward CODE", file=sys.stderr)
    return 0

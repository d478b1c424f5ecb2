"""Roles: city admins and ward coordinators, what an account holds now (``role_of``), one-time
invitation codes (``invite``, ``redeem``) and revocation (``revoke``). The chat, the web console
and the command line call these same functions; what each role may do is read from the table in
``bot.domain.permissions``."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.permissions import (
    ADMIN,
    NONE,
    OFFICER,
    ROLES,
    Action,
    Scope,
    allowed,
    org_bound,
    role_label,
    role_name,
    scope_kind,
    stands_in,
    ward_bound,
)
from bot.domain.ports import UnitOfWork
from bot.domain.records import Staff
from bot.domain.usecases.notices import text_message
from bot.domain.usecases.texts import person
from bot.engine.types import Text, t

__all__ = [
    "CODE_ALPHABET",
    "MAX_FAILURES",
    "OPERATOR",
    "Invited",
    "Redeemed",
    "Role",
    "acting_staff_id",
    "create_invitation",
    "hash_code",
    "invite",
    "lock_for",
    "new_code",
    "redeem",
    "refusal",
    "revoke",
    "role_of",
    "role_of_record",
    "staff_names",
]

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
MAX_FAILURES = 5  # wrong codes before an account has to wait


@dataclass(frozen=True, slots=True)
class Role:
    """What an account may do now: ``staff`` is its active record (None when it has none or
    it was revoked); ``admin`` comes from CDHT_ADMINS or an admin invitation, never from a
    leftover record. ``stand_in``: the wards where an officer allowed to decide stands in for a
    missing coordinator (read when the role is). What it may do is read from
    ``bot.domain.permissions``."""

    account: str
    staff: Staff | None
    admin: bool
    stand_in: frozenset[str] = frozenset()

    @property
    def wards(self) -> frozenset[str]:
        return self.staff.wards if self.staff is not None else frozenset()

    @property
    def name(self) -> str:
        """Its row in the permissions table: admin, coordinator, … or none."""
        return role_name(self)

    @property
    def is_staff(self) -> bool:
        """Whether it holds any staff role now (a revoked account holds none)."""
        return self.name != NONE


# The operator at the machine (`cdht coordinator …`, `cdht broadcast …`) acts as a configured
# admin: "cli" is no chat account, so it is never the account revoked, and it is what
# invitations and broadcasts made there record as their author.
OPERATOR = Role(account="cli", staff=None, admin=True)


async def role_of(
    uow: UnitOfWork, channel: str, external_id: str, config_admins: Iterable[str]
) -> Role:
    account = f"{channel}:{external_id}"
    member = await uow.staff.by_account(channel, external_id)
    if member is not None and (member.revoked_at is not None or member.role == NONE):
        member = None
    granted = member is not None and member.role == ADMIN
    admin = account in set(config_admins) or granted
    return Role(account, member, admin, await _stand_in(uow, member))


async def role_of_record(uow: UnitOfWork, member: Staff) -> Role:
    """What a staff record grants now by itself (the daily digest's holders): no configured
    admin's rights, nothing once revoked."""
    return Role(member.account, member, admin=False, stand_in=await _stand_in(uow, member))


async def _stand_in(uow: UnitOfWork, member: Staff | None) -> frozenset[str]:
    """An officer who may decide stands in for the coordinator of each of its wards that has
    none at this moment: a coordinator invited later takes the ward's decisions back."""
    if member is None or member.role != OFFICER or not member.decides or member.revoked_at:
        return frozenset()
    return member.wards - await uow.staff.coordinated(member.wards)


def refusal(role: Role, action: Action) -> Text:
    """What an account that may not do ``action`` hears: a citizen, that it is for staff; an
    officer without a ward to stand in for, that its wards' coordinators review them; other
    staff, that it is not their role's."""
    if not role.is_staff:
        return t("rev.error.not_staff")
    if scope_kind(role, action) is Scope.STAND_IN:
        return t("staff.stand_in.none")
    return t("staff.not_for_role", role=role_label(role.name) or role.name)


async def acting_staff_id(uow: UnitOfWork, role: Role, now: datetime) -> int:
    """The staff record that claims and decisions of an authorised account name. A configured
    admin without a record gets one that grants nothing (role ``none``)."""
    if role.staff is not None:
        return role.staff.id
    if not role.admin:  # identity, not permission: only a configured admin acts without a record
        raise PermissionError("not staff")
    channel, _, external_id = role.account.partition(":")
    return await uow.staff.record(channel, external_id, now)


async def staff_names(uow: UnitOfWork) -> dict[str, str]:
    """Each staff account (``channel:id``) as citizens and reports name it."""
    return {member.account: member.shown_as for member in await uow.staff.all()}


# -- invitations -----------------------------------------------------------------------------


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def hash_code(code: str) -> str:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


async def create_invitation(
    uow: UnitOfWork,
    role: str,
    wards: Sequence[str],
    created_by: str,
    now: datetime,
    valid_for: timedelta,
    decides: bool = False,
    org_id: int | None = None,
) -> str:
    """A new one-time code; only its hash is stored. No check: ``invite`` is the use case."""
    code = new_code()
    await uow.staff.create_invitation(
        hash_code(code), role, wards, created_by, now, now + valid_for, decides, org_id
    )
    return code


@dataclass(frozen=True, slots=True)
class Invited:
    code: str | None = None
    wards: tuple[str, ...] = ()  # the wards the code binds (none for a city-wide role)
    problem: str | None = None  # not_allowed, unknown_role, no_ward, cannot_decide, no_org
    decides: bool = False  # an officer's: stands in where a ward has no coordinator


async def invite(
    uow: UnitOfWork,
    role: Role,
    kind: str,
    wards: Iterable[str],
    now: datetime,
    valid_for: timedelta,
    decides: bool = False,
    org_id: int | None = None,
) -> Invited:
    """A one-time code that makes whoever redeems it a ``kind`` (``admin``, ``coordinator``,
    ``officer``) for ``wards`` (ward codes, already resolved: a role held for the city ignores
    them), if ``role`` may invite; ``decides``: an officer who stands in where a ward of its
    has no coordinator. The author recorded is ``role.account``."""
    if not allowed(role, Action.INVITE):
        return Invited(problem="not_allowed")
    if kind == NONE or kind not in ROLES:
        return Invited(problem="unknown_role")
    if decides and not stands_in(kind):
        return Invited(problem="cannot_decide")
    if org_bound(kind):  # a verifier is its organisation's, named by the invitation
        org = await uow.orgs.get(org_id) if org_id is not None else None
        if org is None:
            return Invited(problem="no_org")
        code = await create_invitation(uow, kind, (), role.account, now, valid_for, org_id=org.id)
        return Invited(code=code)
    bound = tuple(dict.fromkeys(wards)) if ward_bound(kind) else ()
    if ward_bound(kind) and not bound:
        return Invited(problem="no_ward")
    code = await create_invitation(uow, kind, bound, role.account, now, valid_for, decides)
    return Invited(code=code, wards=bound, decides=decides)


@dataclass(frozen=True, slots=True)
class Redeemed:
    staff: Staff | None = None
    problem: str | None = None  # unknown, used, expired, locked
    wait_minutes: int = 0


def lock_for(failures: int) -> timedelta:
    """1, 2, 4 … minutes after the fifth wrong code in a row, at most a day."""
    return timedelta(minutes=min(2 ** max(failures - MAX_FAILURES, 0), 24 * 60))


async def redeem(
    uow: UnitOfWork, channel: str, external_id: str, code: str, now: datetime
) -> Redeemed:
    """The code is consumed first, in one conditional statement, and only the redemption that
    consumed it binds the account: of several racing for one code, exactly one becomes staff.
    A refused code changes no role (it only counts towards the wrong-code lock)."""
    failures, locked_until = await uow.staff.failures(channel, external_id)
    if locked_until is not None and locked_until > now:
        wait = math.ceil((locked_until - now) / timedelta(minutes=1))  # «1 phút», not «2»
        return Redeemed(problem="locked", wait_minutes=wait)
    code_hash = hash_code(code)
    invitation = await uow.staff.consume_invitation(code_hash, now) if code.strip() else None
    if invitation is None:
        found = await uow.staff.invitation(code_hash) if code.strip() else None
        problem = "unknown"
        if found is not None:
            problem = "used" if found.used_at is not None else "expired"
        failures += 1
        lock = now + lock_for(failures) if failures >= MAX_FAILURES else None
        await uow.staff.set_failures(channel, external_id, failures, lock, now)
        return Redeemed(problem=problem)
    member = await uow.staff.redeem(
        channel,
        external_id,
        invitation.role,
        invitation.wards,
        invitation.created_by,
        now,
        invitation.decides,
        invitation.org_id,
    )
    await uow.staff.set_used_by(invitation.id, member.id)
    await uow.staff.set_failures(channel, external_id, 0, None, now)
    return Redeemed(staff=member)


# -- revocation ------------------------------------------------------------------------------


async def revoke(
    uow: UnitOfWork, role: Role, staff_id: int, admins: Sequence[str], now: datetime
) -> Text:
    """Take a coordinator's or an invited admin's role away, by someone the table lets revoke,
    never of themselves nor of an account configured in CDHT_ADMINS; the reviews the account
    holds are released and it is told. What happened, as a text that names the person as
    officials read them (their name and channel, not the account)."""
    if not allowed(role, Action.REVOKE):
        return t("staff.admin_only")
    member = await uow.staff.get(staff_id)
    if member is None or member.role == NONE:
        return t("staff.revoke.unknown", id=staff_id)
    if member.account == role.account:
        return t("staff.revoke.self")
    if member.account in admins:
        return t("staff.revoke.configured", person=person(member.account, member.display_name))
    if not await uow.staff.revoke(member.id, now):
        return t("staff.revoke.already", id=member.id)
    await uow.outbox.enqueue(
        text_message(member.channel, member.external_id, t("note.revoked")), now
    )
    return t("staff.revoke.done", id=member.id, person=person(member.account, member.display_name))

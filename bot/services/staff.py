"""Roles: city admins and ward coordinators, one-time invitation codes, and who may decide."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.engine.ports import Staff, UnitOfWork

__all__ = [
    "CODE_ALPHABET",
    "MAX_FAILURES",
    "Redeemed",
    "Role",
    "create_invitation",
    "hash_code",
    "new_code",
    "redeem",
    "role_of",
]

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
MAX_FAILURES = 5  # wrong codes before an account has to wait
CONFIG_ADMIN = "CDHT_ADMINS"  # ``invited_by`` of the staff records of configured admins


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
) -> str:
    """A new one-time code; only its hash is stored."""
    code = new_code()
    await uow.staff.create_invitation(
        hash_code(code), role, wards, created_by, now, now + valid_for
    )
    return code


@dataclass(frozen=True, slots=True)
class Redeemed:
    staff: Staff | None = None
    problem: str | None = None  # unknown, used, expired, locked
    wait_minutes: int = 0


def _lock_for(failures: int) -> timedelta:
    """1, 2, 4 … minutes after the fifth wrong code in a row, at most a day."""
    return timedelta(minutes=min(2 ** max(failures - MAX_FAILURES, 0), 24 * 60))


async def redeem(
    uow: UnitOfWork, channel: str, external_id: str, code: str, now: datetime
) -> Redeemed:
    failures, locked_until = await uow.staff.failures(channel, external_id)
    if locked_until is not None and locked_until > now:
        wait = int((locked_until - now).total_seconds() // 60) + 1
        return Redeemed(problem="locked", wait_minutes=wait)
    invitation = await uow.staff.invitation(hash_code(code)) if code.strip() else None
    problem = None
    if invitation is None:
        problem = "unknown"
    elif invitation.used_at is not None:
        problem = "used"
    elif invitation.expires_at <= now:
        problem = "expired"
    if problem is not None or invitation is None:
        failures += 1
        lock = now + _lock_for(failures) if failures >= MAX_FAILURES else None
        await uow.staff.set_failures(channel, external_id, failures, lock, now)
        return Redeemed(problem=problem)
    member = await uow.staff.bind(
        channel, external_id, invitation.role, invitation.wards, invitation.created_by, now
    )
    if not await uow.staff.use_invitation(invitation.id, member.id, now):
        return Redeemed(problem="used")
    await uow.staff.set_failures(channel, external_id, 0, None, now)
    return Redeemed(staff=member)


@dataclass(frozen=True, slots=True)
class Role:
    account: str
    staff: Staff | None
    admin: bool

    @property
    def wards(self) -> frozenset[str]:
        return self.staff.wards if self.staff is not None else frozenset()

    @property
    def is_staff(self) -> bool:
        return self.admin or bool(self.wards)

    def may_review(self, ward_code: str) -> bool:
        return self.admin or ward_code in self.wards


async def role_of(
    uow: UnitOfWork, channel: str, external_id: str, config_admins: Iterable[str]
) -> Role:
    account = f"{channel}:{external_id}"
    member = await uow.staff.by_account(channel, external_id)
    if member is not None and member.revoked_at is not None:
        member = None
    granted = member is not None and member.role == "admin" and member.invited_by != CONFIG_ADMIN
    # a record made for an admin of CDHT_ADMINS counts only while the account is still listed
    admin = account in set(config_admins) or granted
    return Role(account, member, admin)

"""One person, one record across Telegram and Zalo.

A registered citizen asks for a code on the account they already have (``/link``); on the
other account they send ``/link CODE``. Only a code issued to the existing account links: a
phone number alone links nothing, and a code is single-use, valid ten minutes, stored hashed,
and wrong codes lock the account that typed them like wrong staff codes do (they share the
per-account counter: 5 wrong in a row, then 1, 2, 4 … minutes). The counter outlives the
erasure of the account's data, under a keyed hash of the account (storage/repositories/staff.py):
deleting one's data and registering again does not start a fresh count. Once linked, the
citizen's other accounts are told, in the same transaction."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.usecases.notices import citizen_accounts, notify_accounts, text_message
from bot.domain.usecases.roles import MAX_FAILURES, lock_for
from bot.domain.usecases.texts import channel_text
from bot.engine.ports import Identity
from bot.engine.types import t

__all__ = ["LINK_VALID", "Linked", "issue_link_code", "use_link_code"]

LINK_VALID = timedelta(minutes=10)
MINUTE = timedelta(minutes=1)


def _hash(code: str) -> str:
    digits = "".join(ch for ch in code if ch.isdigit())
    return hashlib.sha256(f"link:{digits}".encode()).hexdigest()


async def issue_link_code(uow: UnitOfWork, citizen: Citizen, account: str, now: datetime) -> str:
    """Six digits ("482 913"), replacing any code of this citizen not used yet."""
    code = f"{secrets.randbelow(10**6):06d}"
    await uow.identities.add_link_code(_hash(code), citizen.id, account, now, now + LINK_VALID)
    return f"{code[:3]} {code[3:]}"


@dataclass(frozen=True, slots=True)
class Linked:
    citizen: Citizen | None = None
    problem: str | None = None  # unknown, locked, own_record, same
    wait_minutes: int = 0


async def use_link_code(uow: UnitOfWork, identity: Identity, code: str, now: datetime) -> Linked:
    """Bind ``identity`` to the citizen the code was issued for, and tell the citizen's other
    accounts on which channel it was linked. An account that has its own record is refused (two
    records never merge silently); a refused code changes nothing but the account's count of
    wrong codes."""
    failures, locked_until = await uow.staff.failures(identity.channel, identity.external_id)
    if locked_until is not None and locked_until > now:
        # whole minutes, rounded up: a lock of one minute is «1 phút», not 2
        return Linked(problem="locked", wait_minutes=math.ceil((locked_until - now) / MINUTE))
    if identity.subject_id is not None:
        return Linked(problem="own_record")
    account = f"{identity.channel}:{identity.external_id}"
    citizen_id = await uow.identities.use_link_code(_hash(code), account, now)
    citizen = await uow.citizens.get(citizen_id) if citizen_id is not None else None
    if citizen is None:
        failures += 1
        lock = now + lock_for(failures) if failures >= MAX_FAILURES else None
        await uow.staff.set_failures(identity.channel, identity.external_id, failures, lock, now)
        return Linked(problem="unknown")
    await uow.identities.bind(identity.id, citizen.id)
    await uow.staff.set_failures(identity.channel, identity.external_id, 0, None, now)
    others = [a for a in await citizen_accounts(uow, citizen.id) if a != account]
    notice = t("link.notice", channel=channel_text(identity.channel))
    await notify_accounts(
        uow,
        others,
        lambda channel, external_id: text_message(
            channel, external_id, notice, citizen_id=citizen.id
        ),
        now,
    )
    return Linked(citizen=citizen)

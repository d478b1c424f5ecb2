"""A citizen's record: registering (with the consents given on the way) and correcting it."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime

from bot.domain.consents import GUARDIAN
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, NewCitizen

__all__ = ["Agreement", "correct_profile", "register"]


@dataclass(frozen=True, slots=True)
class Agreement:
    """What the person registering agreed to, as the notice asked it: the purposes one by one,
    when, under which notice version; for someone under 16, the parent or guardian who read
    the notice and agreed (their name and relationship)."""

    notice_version: str
    given_at: datetime
    purposes: tuple[str, ...]
    guardian_name: str | None = None
    guardian_relation: str | None = None


async def register(
    uow: UnitOfWork, identity_id: int, details: NewCitizen, agreement: Agreement, now: datetime
) -> Citizen:
    """Create the citizen, bind the account that registered, and keep the consents as evidence:
    one record per purpose, as given, on the channel of the registration; with a guardian, each
    names them, and their own agreement to the child's registration is recorded too."""
    citizen = await uow.citizens.create(details, now)
    await uow.identities.bind(identity_id, citizen.id)
    guardian: dict[str, str] = {}
    if agreement.guardian_name:  # who agreed, for a child
        guardian = {
            "guardian_name": agreement.guardian_name,
            "guardian_relation": agreement.guardian_relation or "",
        }
    version, given_at, channel = agreement.notice_version, agreement.given_at, details.channel
    for purpose in agreement.purposes:
        await uow.consents.record(citizen.id, version, [purpose], given_at, channel, **guardian)
    if guardian:  # the guardian's own agreement to the child's registration, naming them
        await uow.consents.record(citizen.id, version, [GUARDIAN], given_at, channel, **guardian)
    return citizen


# what a correction compares: the channel registered on and the locale are not the citizen's
# data to correct, and a ward's data version changes with the ward
_NOT_CORRECTED = ("channel", "locale", "ward_data_version")


async def correct_profile(
    uow: UnitOfWork, citizen: Citizen, details: NewCitizen, account: str, now: datetime
) -> Citizen:
    """Store the corrected fields and record each (what changed, from what to what, when, by
    which ``channel:id`` account) for ``/mydata``; the citizen as now stored (unchanged, and
    nothing written, when no field differs). The channel registered on stays."""
    changes = replace(details, channel=citizen.channel)
    corrected = [
        (name, _shown(getattr(citizen, name)), _shown(getattr(changes, name)))
        for name in (field.name for field in fields(NewCitizen))
        if name not in _NOT_CORRECTED and getattr(citizen, name) != getattr(changes, name)
    ]
    if not corrected:
        return citizen
    updated = await uow.citizens.update(citizen.id, changes, now)
    await uow.citizens.record_changes(citizen.id, corrected, account, now)
    return updated


def _shown(value: object) -> str | None:
    return None if value is None else str(value)

"""Consent per purpose (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): each given, recorded and
withdrawn on its own."""

from __future__ import annotations

from bot.domain.ports import UnitOfWork
from bot.engine.types import t

__all__ = [
    "GUARDIAN",
    "PURPOSES",
    "PURPOSE_LABELS",
    "REGISTRATION",
    "SHARING",
    "STATISTICS",
    "active_purposes",
]

REGISTRATION = "registration_self_assessment"  # required to take part
SHARING = "share_with_ward_coordinator"  # required to submit a declaration for verification
STATISTICS = "anonymous_statistics"  # optional
PURPOSES = (REGISTRATION, SHARING, STATISTICS)
GUARDIAN = "guardian_consent"  # a parent's or guardian's agreement for someone under 16
# each purpose as the citizen and staff read it
PURPOSE_LABELS = {
    REGISTRATION: t("purpose.registration"),
    SHARING: t("purpose.sharing"),
    STATISTICS: t("purpose.statistics"),
}


async def active_purposes(uow: UnitOfWork, citizen_id: int) -> set[str]:
    """The purposes the citizen has agreed to and not withdrawn."""
    return {
        purpose
        for consent in await uow.consents.for_citizen(citizen_id)
        if consent.withdrawn_at is None
        for purpose in consent.purposes
    }

"""Consents given and withdrawn after registration, one purpose at a time (Law 91/2025/QH15):
from ``/profile``, and the sharing with the ward's coordinator asked for at submission."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.domain.consents import SHARING
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.usecases.notices import change_status, notify_accounts, reviewers_for, text_message
from bot.engine.types import t

__all__ = ["give", "withdraw"]


async def give(
    uow: UnitOfWork,
    citizen_id: int,
    purpose: str,
    notice_version: str,
    channel: str,
    now: datetime,
) -> None:
    """Record the citizen's consent to one purpose, under the notice version in force, on the
    channel it was given on."""
    await uow.consents.record(citizen_id, notice_version, [purpose], now, channel)


async def withdraw(
    uow: UnitOfWork,
    citizen: Citizen,
    purpose: str,
    now: datetime,
    *,
    year: int,
    admins: Iterable[str] = (),
) -> int | None:
    """Withdraw the citizen's consent to one purpose. Withdrawing the sharing takes the year's
    declaration waiting for review back from the coordinators: it returns to draft (recorded,
    its review released) and those who were told of the submission (the ward's coordinators,
    or the city admins ``admins`` and those recorded when the ward has none, and whoever holds
    its review) are told it is gone, by number only. The number of the declaration taken back,
    if any."""
    await uow.consents.withdraw(citizen.id, purpose, now)
    if purpose != SHARING:
        return None
    declaration = await uow.declarations.for_year(citizen.id, year)
    if declaration is None or declaration.status != "submitted":
        return None
    await change_status(
        uow, declaration, "citizen", "draft", now,
        reason="consent withdrawn", claimed_by=None, claimed_at=None,
    )  # fmt: skip
    # by number: the citizen has just withdrawn the sharing of their name
    accounts, _ = await reviewers_for(uow, citizen, admins)
    holder = await uow.staff.get(declaration.claimed_by) if declaration.claimed_by else None
    if holder is not None:
        accounts.append(holder.account)
    notice = t("note.sharing_withdrawn", id=declaration.id)
    await notify_accounts(
        uow,
        accounts,
        lambda channel, external_id: text_message(channel, external_id, notice),
        now,
    )
    return declaration.id

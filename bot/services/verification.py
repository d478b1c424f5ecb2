"""Status changes of a declaration: each one recorded, and the people concerned notified."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, DeclarationEvent
from bot.engine.types import Text
from bot.services.outbox import notify_accounts, text_message

__all__ = ["change_status", "citizen_accounts", "notify_citizen", "reviewers_for"]


async def change_status(
    uow: UnitOfWork,
    declaration: Declaration,
    actor: str,
    to_status: str,
    now: datetime,
    *,
    reason: str | None = None,
    adjusted: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Move a declaration to ``to_status`` and append the audit record, in one transaction."""
    await uow.declarations.update(declaration.id, now, status=to_status, **fields)
    await uow.declarations.add_event(
        DeclarationEvent(
            declaration.id,
            actor,
            declaration.status,
            to_status,
            reason,
            adjusted,
            int(fields.get("review_round", declaration.review_round)),
            now,
        )
    )


async def citizen_accounts(uow: UnitOfWork, citizen_id: int) -> list[str]:
    return [f"{i.channel}:{i.external_id}" for i in await uow.identities.for_citizen(citizen_id)]


async def reviewers_for(
    uow: UnitOfWork, citizen: Citizen, config_admins: Iterable[str]
) -> tuple[list[str], bool]:
    """The ward's coordinators; the city admins when the ward has none (second value True)."""
    coordinators = [member.account for member in await uow.staff.for_ward(citizen.ward_code)]
    if coordinators:
        return coordinators, False
    admins = [*config_admins, *(member.account for member in await uow.staff.admins())]
    return list(dict.fromkeys(admins)), True


async def notify_citizen(
    uow: UnitOfWork,
    citizen_id: int,
    text: Text,
    now: datetime,
    choices: Sequence[tuple[str, Text | str]] = (),
) -> int:
    accounts = await citizen_accounts(uow, citizen_id)
    return await notify_accounts(
        uow,
        accounts,
        lambda channel, external_id: text_message(
            channel, external_id, text, choices, citizen_id=citizen_id
        ),
        now,
    )

"""What tells citizens and reviewers: a declaration's status change with its audit record, the
messages to a citizen's accounts and to the coordinators of their ward, written to the outbox
in the transaction of the change that caused them (the sender delivers them after the commit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, DeclarationEvent
from bot.engine.ports import OutboxMessage
from bot.engine.types import Text, text_to_json

__all__ = [
    "change_status",
    "citizen_accounts",
    "file_message",
    "notify_accounts",
    "notify_citizen",
    "reviewers_for",
    "text_message",
]


def text_message(
    channel: str,
    external_id: str,
    text: Text,
    choices: Sequence[tuple[str, Text | str]] = (),
    *,
    dedupe_key: str | None = None,
    kind: str = "notification",
    priority: int = 0,
    citizen_id: int | None = None,
) -> OutboxMessage:
    """A text with buttons; each button id is a command ("/review 12") that works any time.
    ``citizen_id`` names the citizen the message is about, so that erasing them erases it."""
    payload = {
        "text": text_to_json(text),
        "choices": [[choice_id, text_to_json(label)] for choice_id, label in choices],
    }
    return OutboxMessage(
        channel, external_id, payload, kind, priority, dedupe_key, subject_id=citizen_id
    )


def file_message(
    channel: str,
    external_id: str,
    sha256: str,
    kind: str,
    mime_type: str,
    name: str,
    caption: Text,
    citizen_id: int | None = None,
) -> OutboxMessage:
    """A stored file (a letter, an export, evidence) with a caption."""
    payload = {
        "file": {"sha256": sha256, "kind": kind, "mime_type": mime_type, "name": name},
        "text": text_to_json(caption),
    }
    return OutboxMessage(channel, external_id, payload, subject_id=citizen_id)


async def notify_accounts(
    uow: UnitOfWork,
    accounts: Sequence[str],
    build: Callable[[str, str], OutboxMessage],
    now: datetime,
) -> int:
    """Enqueue one message per ``channel:id`` account; the count enqueued."""
    count = 0
    for account in dict.fromkeys(accounts):
        channel, _, external_id = account.partition(":")
        if await uow.outbox.enqueue(build(channel, external_id), now):
            count += 1
    return count


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
    """The ward's coordinators; when it has none, the officers standing in for them (a
    district's or the city's, invited with ``--decide``); the city admins when there is
    neither (second value True)."""
    coordinators = [member.account for member in await uow.staff.for_ward(citizen.ward_code)]
    if coordinators:
        return coordinators, False
    officers = [member.account for member in await uow.staff.stand_ins(citizen.ward_code)]
    if officers:
        return officers, False
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

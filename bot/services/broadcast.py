"""Campaign broadcasts: an audience of registered citizens, queued in the outbox at once or at
a set time, sent by each channel's sender at its pace (quiet hours respected)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.ports import UnitOfWork
from bot.domain.records import Broadcast
from bot.engine.types import Text, text_to_json

__all__ = [
    "AUDIENCE_STATUSES",
    "BROADCAST_PRIORITY",
    "REMINDER_PRIORITY",
    "audience",
    "create_broadcast",
    "release_due",
]

NOTIFICATION_PRIORITY = 0  # a person's own matters go first
REMINDER_PRIORITY = 5
BROADCAST_PRIORITY = 9
AUDIENCE_STATUSES = ("not_started", "in_progress", "submitted", "returned", "recognised")


def audience(
    *,
    wards: Sequence[str] = (),
    group: int | None = None,
    status: str | None = None,
    channel: str | None = None,
    locale: str | None = None,
    year: int | None = None,
) -> dict[str, Any]:
    if status is not None and status not in AUDIENCE_STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(AUDIENCE_STATUSES)}")
    found: dict[str, Any] = {
        "wards": sorted(set(wards)),
        "group": group,
        "status": status,
        "channel": channel,
        "locale": locale,
        "year": year,
    }
    return {key: value for key, value in found.items() if value}


async def create_broadcast(
    uow: UnitOfWork,
    text: str,
    filters: dict[str, Any],
    created_by: str,
    now: datetime,
    at: datetime | None = None,
    choices: Sequence[tuple[str, Text | str]] = (),
) -> Broadcast:
    """Record a broadcast; queue it now unless it is scheduled for later. Button labels are
    translated for each recipient when sent."""
    stored = [(command, text_to_json(label)) for command, label in choices]
    created = await uow.broadcasts.create(text, stored, filters, created_by, now, at or now)
    if created.scheduled_at <= now:
        await uow.broadcasts.enqueue(created, BROADCAST_PRIORITY, now)
    found = await uow.broadcasts.get(created.id)
    assert found is not None
    return found


async def release_due(uow: UnitOfWork, now: datetime) -> int:
    """Queue the scheduled broadcasts whose time has come; the recipients queued."""
    queued = 0
    for broadcast in await uow.broadcasts.due(now):
        queued += await uow.broadcasts.enqueue(broadcast, BROADCAST_PRIORITY, now)
    return queued

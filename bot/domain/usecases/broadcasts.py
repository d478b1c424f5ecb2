"""Campaign broadcasts: an audience of registered citizens, queued in the outbox at once or at
a set time, sent by each channel's sender at its pace (quiet hours respected). ``broadcast`` is
the use case the chat, the web console and the command line call: the account may broadcast,
a coordinator only to their own wards (``bot.domain.permissions``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.permissions import Action, allowed, scope_of
from bot.domain.ports import UnitOfWork
from bot.domain.records import Broadcast
from bot.domain.usecases.roles import Role
from bot.domain.validation import visible_text
from bot.engine.types import Text, t, text_to_json

__all__ = [
    "AUDIENCE_STATUSES",
    "BROADCAST_PRIORITY",
    "DELIVERY_STATES",
    "MAX_TEXT",
    "MISSED",
    "NOTIFICATION_PRIORITY",
    "REMINDER_PRIORITY",
    "Broadcasted",
    "Missed",
    "audience",
    "broadcast",
    "cancel_broadcast",
    "create_broadcast",
    "release_due",
    "resend_missed",
    "text_problem",
    "visible_broadcast",
]

NOTIFICATION_PRIORITY = 0  # a person's own matters go first
REMINDER_PRIORITY = 5
BROADCAST_PRIORITY = 9
AUDIENCE_STATUSES = ("not_started", "in_progress", "submitted", "returned", "recognised")
MAX_TEXT = 4000  # characters of a broadcast's text


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


def text_problem(text: str) -> str | None:
    """Why a broadcast's text cannot be sent: "empty", "short" (fewer than two visible
    characters) or "long" (over ``MAX_TEXT``); None when it can."""
    visible = visible_text(text)
    if len(visible) < 2:
        return "short" if visible else "empty"
    if len(text) > MAX_TEXT:
        return "long"
    return None


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
    translated for each recipient when sent. No check: ``broadcast`` is the use case."""
    stored = [(command, text_to_json(label)) for command, label in choices]
    created = await uow.broadcasts.create(text, stored, filters, created_by, now, at or now)
    if created.scheduled_at <= now:
        await uow.broadcasts.enqueue(created, BROADCAST_PRIORITY, now)
    found = await uow.broadcasts.get(created.id)
    assert found is not None
    return found


@dataclass(frozen=True, slots=True)
class Broadcasted:
    broadcast: Broadcast | None = None
    problem: str | None = None  # not_allowed, out_of_scope, empty, short, long


async def broadcast(
    uow: UnitOfWork,
    role: Role,
    text: str,
    filters: dict[str, Any],
    now: datetime,
    at: datetime | None = None,
    choices: Sequence[tuple[str, Text | str]] = (),
) -> Broadcasted:
    """Send (or schedule) a broadcast as ``role``: refused unless the account may broadcast
    now, and, for one that may only in its own wards, unless the audience (``audience``'s
    ``filters``) names wards all of which are its own. The author is ``role.account``."""
    if not allowed(role, Action.BROADCAST):
        return Broadcasted(problem="not_allowed")
    scope = scope_of(role, Action.BROADCAST)
    wards = set(filters.get("wards") or ())
    if scope is not None and (not wards or not wards <= scope):
        return Broadcasted(problem="out_of_scope")
    problem = text_problem(text)
    if problem is not None:
        return Broadcasted(problem=problem)
    created = await create_broadcast(uow, text, filters, role.account, now, at, choices)
    return Broadcasted(broadcast=created)


async def visible_broadcast(uow: UnitOfWork, role: Role, number: int) -> Broadcast | None:
    """The broadcast if ``role`` may see it (report, cancel): its own, or anyone's for an
    account the table lets manage others' broadcasts; None as if there were none."""
    found = await uow.broadcasts.get(number)
    if found is None:
        return None
    if found.created_by != role.account and not allowed(role, Action.OTHERS_BROADCASTS):
        return None
    return found


async def cancel_broadcast(uow: UnitOfWork, role: Role, number: int) -> int | None:
    """Withdraw a broadcast ``role`` may see: the messages not yet sent are dropped (their
    count); None when there is no such broadcast for this account."""
    found = await visible_broadcast(uow, role, number)
    if found is None:
        return None
    return await uow.broadcasts.cancel(found.id)


# what became of a message to a citizen, in the words of the report, the console and the Excel
# file (the outcomes of ``storage.repositories.broadcasts._outcome``)
DELIVERY_STATES: Mapping[str, Text] = {
    "sent": t("web.bc.count.sent"),
    "failed": t("web.bc.count.failed"),
    "blocked": t("web.bc.count.blocked"),
    "pending": t("web.bc.count.pending"),
    "cancelled": t("web.bc.count.cancelled"),
    "template": t("web.bc.count.template"),
    "not_in_window": t("web.bc.count.not_in_window"),
    "unreachable": t("web.bc.count.unreachable"),
    "rate_limited": t("web.bc.count.rate_limited"),
    "template_quota": t("web.bc.count.template_quota"),
}

# who did not receive a broadcast and may if it is sent again: not those who blocked the bot
# (the platform refuses it again), nor those waiting (pending, rate limited), nor the cancelled
MISSED = ("unreachable", "not_in_window", "template_quota", "failed")


@dataclass(frozen=True, slots=True)
class Missed:
    counts: dict[str, int]  # by outcome, whom a resend reaches
    queued: int = 0  # sent again now (0 when only counted)
    problem: str | None = None  # unknown, cancelled

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def resend_missed(
    uow: UnitOfWork, role: Role, number: int, now: datetime, send: bool
) -> Missed:
    """Those a broadcast ``role`` may see did not reach (``MISSED``), counted; with ``send``,
    their messages are queued again now, exactly those, each once (the same outbox rows: the
    report then counts each recipient's latest outcome)."""
    found = await visible_broadcast(uow, role, number)
    if found is None:
        return Missed({}, problem="unknown")
    if found.status == "cancelled":
        return Missed({}, problem="cancelled")
    report = await uow.broadcasts.report(found.id)
    counts = {outcome: report[outcome] for outcome in MISSED if report.get(outcome)}
    if not send or not counts:
        return Missed(counts)
    return Missed(counts, await uow.broadcasts.requeue(found.id, MISSED, now))


async def release_due(uow: UnitOfWork, now: datetime) -> int:
    """Queue the scheduled broadcasts whose time has come; the recipients queued."""
    queued = 0
    for found in await uow.broadcasts.due(now):
        queued += await uow.broadcasts.enqueue(found, BROADCAST_PRIORITY, now)
    return queued

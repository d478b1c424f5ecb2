"""Timed duties: the coordinators' morning digest, declarations given to a reviewer who did not
decide within the hold time given to another, and the escalation of old pending items (to the
ward's officer where there is one, else to the city's admins)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.calendar import local_time
from bot.domain.permissions import Action, allowed, scope_of
from bot.domain.ports import Store, UnitOfWork
from bot.domain.records import ReminderStep
from bot.domain.usecases.assignment import DEFAULT_CAPACITY, reassign, tell_moved
from bot.domain.usecases.broadcasts import REMINDER_PRIORITY, release_due
from bot.domain.usecases.notices import text_message
from bot.domain.usecases.roles import role_of_record
from bot.engine.types import Text, t

__all__ = ["Reminders", "Scheduler", "greeting"]

log = logging.getLogger(__name__)

REMINDER_EVERY = timedelta(hours=1)
START_KEY = "remind:start:"


def greeting(hour: int) -> Text:
    """The greeting for the hour in Viet Nam: a digest sent at 14:20 (a process started in the
    afternoon) does not wish a good morning."""
    if 4 <= hour < 11:
        return t("greeting.morning")
    if 11 <= hour < 13:
        return t("greeting.noon")
    if 13 <= hour < 18:
        return t("greeting.afternoon")
    return t("greeting.evening")


@dataclass(frozen=True, slots=True)
class Reminders:
    """The first run's reminder steps (then the admins edit them: ``reminder_steps``)."""

    idle: timedelta = timedelta(days=3)  # a declaration untouched this long is reminded
    max: int = 3  # reminders per idle declaration, ``idle`` apart
    start: timedelta = timedelta(days=2)  # registered this long without starting: one reminder
    returned: timedelta = timedelta(days=7)  # returned this long and not resubmitted: one


class Scheduler:
    """Idempotent: each digest and escalation has a dedupe key, so restarts never repeat one."""

    def __init__(
        self,
        store: Store,
        config_admins: Sequence[str],
        *,
        digest_hour: int = 8,
        escalate_after: timedelta = timedelta(days=7),
        hold: timedelta = timedelta(hours=24),
        capacity: int = DEFAULT_CAPACITY,
        reminders: Reminders | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._reminders = reminders or Reminders()
        self._last_reminders: datetime | None = None
        self._store = store
        self._admins = tuple(config_admins)
        self._digest_hour = digest_hour
        self._escalate_after = escalate_after
        self._hold = hold
        self._capacity = capacity
        self._clock = clock

    async def run(self, stop: asyncio.Event, every: float = 60.0) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                log.error("scheduler: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def tick(self) -> int:
        """Enqueue what is due now; the number of messages enqueued."""
        now = self._clock()
        local = local_time(now)
        enqueued = 0
        async with self._store.transaction() as uow:
            if local.hour >= self._digest_hour:
                day = local.date().isoformat()
                for member in await uow.staff.all():
                    # the digest is for whoever holds their wards' queue, as the record grants
                    # it (a revoked one grants nothing); the city's admins, configured or
                    # invited, hear of old items by the escalation below
                    holder = await role_of_record(uow, member)
                    scope = scope_of(holder, Action.QUEUE)
                    if not scope:  # None: the city's (an admin); empty: no queue of its own
                        continue
                    pending = await uow.declarations.pending(scope)
                    if not pending:
                        continue
                    oldest = pending[0][0].submitted_at or now
                    days = max((now - oldest).days, 0)
                    text = (
                        t("note.digest", greeting=greeting(local.hour), count=len(pending),
                          days=days)
                        if days
                        else t("note.digest.today", greeting=greeting(local.hour),
                               count=len(pending))
                    )  # fmt: skip
                    message = text_message(
                        member.channel,
                        member.external_id,
                        text,
                        (("/queue", t("note.digest.button")),),
                        dedupe_key=f"digest:{day}:{member.id}",
                    )
                    enqueued += int(await uow.outbox.enqueue(message, now))
            enqueued += await self._pass_on(uow, now)
            admins = [*self._admins, *(m.account for m in await uow.staff.admins())]
            for declaration, citizen in await uow.declarations.pending(None):
                submitted = declaration.submitted_at or now
                if now - submitted < self._escalate_after:
                    continue
                text = t(
                    "note.escalation",
                    id=declaration.id,
                    name=citizen.full_name,
                    ward=citizen.ward_name,
                    days=(now - submitted).days,
                )
                review = ((f"/review {declaration.id}", t("note.review.button")),)
                escalated_to = await self._escalated_to(uow, citizen.ward_code, admins)
                for account, may_review in escalated_to:
                    button = review if may_review else ()
                    channel, _, external_id = account.partition(":")
                    message = text_message(
                        channel,
                        external_id,
                        text,
                        button,
                        dedupe_key=f"escalate:{declaration.id}:{declaration.review_round}:{account}",
                        citizen_id=citizen.id,
                    )
                    enqueued += int(await uow.outbox.enqueue(message, now))
            enqueued += await release_due(uow, now)
            if self._last_reminders is None or now - self._last_reminders >= REMINDER_EVERY:
                # a scan over citizens and drafts: hourly is often enough for day-long rules
                enqueued += await self._remind(uow, now)
                self._last_reminders = now
        return enqueued

    async def _pass_on(self, uow: UnitOfWork, now: datetime) -> int:
        """Declarations given to a reviewer more than the hold time ago and not being reviewed
        now go to another reviewer of the ward (told at once), or back to the ward's pool."""
        due = [
            (declaration, citizen)
            for declaration, citizen in await uow.declarations.assigned_open(
                assigned_before=now - self._hold
            )
            if declaration.claimed_at is None or declaration.claimed_at + self._hold <= now
        ]
        moved = await reassign(uow, due, now, self._capacity)
        hours = int(self._hold.total_seconds() // 3600)
        return await tell_moved(uow, moved, t("note.passed_on", hours=hours), now)

    async def _escalated_to(
        self, uow: UnitOfWork, ward: str, admins: Sequence[str]
    ) -> list[tuple[str, bool]]:
        """Who hears of an old pending declaration of ``ward``, and whether each may open it:
        the ward's most local officers (those of the fewest wards: a district's before the
        city's), else the city's admins."""
        officers = await uow.staff.officers(ward)
        if officers:
            fewest = len(officers[0].wards)
            local = [member for member in officers if len(member.wards) == fewest]
            found = []
            for member in local:
                role = await role_of_record(uow, member)
                found.append((member.account, allowed(role, Action.REVIEW, ward)))
            return found
        return [(account, True) for account in dict.fromkeys(admins)]

    async def _remind(self, uow: UnitOfWork, now: datetime) -> int:
        """The campaign's reminder steps (``reminder_steps``, which the admins edit; the first
        run writes the configured defaults into it), each sent once:

        - ``registered``, D days: a citizen registered D days ago or more who has not started
          this year's declaration, once (the event's active step with the fewest days);
        - ``idle``, D₁ < D₂ < …: a draft untouched for Dₖ days and less than the next step's
          (the last: as long again as the gap before it), once for each step and each change;
        - ``returned``, D days: a declaration returned for more, not resubmitted and untouched
          for D to 2·D days, once for each return (the event's active step with the fewest
          days)."""
        active = [step for step in await self.steps(uow, now) if step.active]
        reached = 0
        for step in _applied(active):
            reached += await self._step(uow, now, step, active, dry=False)
        return reached

    async def _step(
        self,
        uow: UnitOfWork,
        now: datetime,
        step: ReminderStep,
        active: Sequence[ReminderStep],
        dry: bool,
    ) -> int:
        """One step's reminders (``dry``: how many people it would remind, none sent)."""
        year = local_time(now).year
        days = step.days
        reached = 0
        if step.event == "idle":
            idle = sorted({s.days for s in active if s.event == "idle"})
            k = idle.index(days) + 1
            gap = days - idle[k - 2] if k >= 2 else days
            upper = idle[k] if k < len(idle) else days + gap
            for declaration, answered in await uow.declarations.idle_drafts(
                year, now - timedelta(days=days), now - timedelta(days=upper)
            ):
                text = t("note.reminder.progress", answered=answered, year=year)
                touched = int(declaration.updated_at.timestamp())
                key = f"remind:decl:{declaration.id}:{touched}:{k}"
                reached += await self._to_citizen(uow, declaration.citizen_id, text, key, now, dry)
        elif step.event == "registered":
            for citizen in await uow.citizens.not_started(
                year, now - timedelta(days=days), START_KEY
            ):
                text = t("note.reminder.start", name=citizen.full_name, year=year)
                key = f"{START_KEY}{citizen.id}:{year}"
                reached += await self._to_citizen(uow, citizen.id, text, key, now, dry)
        elif step.event == "returned":
            for declaration in await uow.declarations.returned_idle(
                year, now - timedelta(days=days), now - timedelta(days=2 * days)
            ):
                text = t("note.reminder.returned", year=year, days=days)
                key = f"remind:returned:{declaration.id}:{declaration.review_round}"
                reached += await self._to_citizen(uow, declaration.citizen_id, text, key, now, dry)
        return reached

    async def steps(self, uow: UnitOfWork, now: datetime) -> Sequence[ReminderStep]:
        """The reminder steps; on the first run, the configured defaults written as rows."""
        found = await uow.broadcasts.steps()
        if found:
            return found
        rules = self._reminders
        await uow.broadcasts.add_step("registered", rules.start.days, "config", now)
        for k in range(1, rules.max + 1):
            await uow.broadcasts.add_step("idle", rules.idle.days * k, "config", now)
        await uow.broadcasts.add_step("returned", rules.returned.days, "config", now)
        return await uow.broadcasts.steps()

    async def step_counts(self, uow: UnitOfWork, now: datetime) -> dict[int, int]:
        """For each step, how many people it would remind now; nothing is sent. A step that is
        off, or a once-only event's step that another of fewer days overrides, reaches 0."""
        steps = list(await self.steps(uow, now))
        active = [step for step in steps if step.active]
        applied = _applied(active)
        return {
            step.id: await self._step(uow, now, step, active, dry=True) if step in applied else 0
            for step in steps
        }

    async def _to_citizen(
        self,
        uow: UnitOfWork,
        citizen_id: int,
        text: Text,
        key: str,
        now: datetime,
        dry: bool = False,
    ) -> int:
        """Remind the citizen on each account it may be reached on; how many reminders were
        queued (``dry``: 1 when it would be reminded, 0 otherwise, nothing queued)."""
        enqueued = 0
        for identity in await uow.identities.for_citizen(citizen_id):
            if identity.opted_out or identity.unreachable:
                continue
            if dry:
                prefix = f"{key}:{identity.channel}:{identity.external_id}"
                return 0 if await uow.outbox.has_key(prefix) else 1
            message = text_message(
                identity.channel,
                identity.external_id,
                text,
                (("/declare", t("note.reminder.button")),),
                dedupe_key=f"{key}:{identity.channel}:{identity.external_id}",
                kind="reminder",
                priority=REMINDER_PRIORITY,
                citizen_id=citizen_id,
            )
            enqueued += int(await uow.outbox.enqueue(message, now))
        return enqueued


ONCE_EVENTS = ("registered", "returned")  # one reminder for each: their fewest-days step


def _applied(active: Sequence[ReminderStep]) -> list[ReminderStep]:
    """The steps that remind: every idle one, and each once-only event's step of fewest days."""
    chosen = [step for step in active if step.event == "idle"]
    for event in ONCE_EVENTS:
        of_event = [step for step in active if step.event == event]
        if of_event:
            chosen.append(min(of_event, key=lambda step: step.days))
    return chosen

"""Timed duties: the coordinators' morning digest and the escalation of old pending items."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.engine.ports import Store
from bot.engine.types import t
from bot.services.outbox import text_message

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

VN_TIME = timedelta(hours=7)


class Scheduler:
    """Idempotent: each digest and escalation has a dedupe key, so restarts never repeat one."""

    def __init__(
        self,
        store: Store,
        config_admins: Sequence[str],
        *,
        digest_hour: int = 8,
        escalate_after: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._admins = tuple(config_admins)
        self._digest_hour = digest_hour
        self._escalate_after = escalate_after
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
        local = now + VN_TIME
        enqueued = 0
        async with self._store.transaction() as uow:
            if local.hour >= self._digest_hour:
                day = local.date().isoformat()
                for member in await uow.staff.all():
                    if member.revoked_at is not None or member.role != "coordinator":
                        continue
                    pending = await uow.declarations.pending(member.wards)
                    if not pending:
                        continue
                    oldest = pending[0][0].submitted_at or now
                    text = t(
                        "note.digest",
                        count=len(pending),
                        days=max((now - oldest).days, 0),
                    )
                    message = text_message(
                        member.channel,
                        member.external_id,
                        text,
                        (("/queue", t("note.digest.button")),),
                        dedupe_key=f"digest:{day}:{member.id}",
                    )
                    enqueued += int(await uow.outbox.enqueue(message, now))
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
                button = ((f"/review {declaration.id}", t("note.review.button")),)
                for account in dict.fromkeys(admins):
                    channel, _, external_id = account.partition(":")
                    message = text_message(
                        channel,
                        external_id,
                        text,
                        button,
                        dedupe_key=f"escalate:{declaration.id}:{declaration.review_round}:{account}",
                    )
                    enqueued += int(await uow.outbox.enqueue(message, now))
        return enqueued

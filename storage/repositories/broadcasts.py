"""Broadcasts and their audiences."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    String,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from bot.domain.records import Broadcast, Received, ReminderStep
from storage.models import broadcasts, citizens, identities, outbox, reminder_steps
from storage.repositories._base import _Repo
from storage.repositories._rows import _audience_query, _aware, _broadcast

# how the sender records a message a channel could not send outside its window
NOT_IN_WINDOW = "Rejected: not in window"


# the outcomes in the order reports list them
OUTCOMES = (
    "sent", "failed", "blocked", "pending", "cancelled", "template", "not_in_window",
    "unreachable", "rate_limited", "template_quota",
)  # fmt: skip


def _rank(outcome: str) -> int:
    return OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES)


def _outcome() -> Any:
    """A broadcast message's outcome, as the outbox sender records it (``bot/services/outbox.py``
    writes ``Unreachable: …`` and ``Rejected: …`` for failures, the channel's own words after the
    colon; ``rate limited for Ns`` on a row waiting out a 429; ``cancelled`` for one withdrawn):

    - ``sent``; ``template``: sent as a Zalo OA's paid template, outside the 7-day window;
    - ``pending``; ``rate_limited``: pending, waiting out the platform's rate limit;
    - ``blocked``: the user blocked the bot (Telegram's 403 «bot was blocked by the user»);
    - ``unreachable``: the chat is gone or the user no longer follows the OA (``Unreachable``);
    - ``not_in_window``: a Zalo OA's user outside the 7-day window, no template configured;
    - ``template_quota``: the OA's paid template refused for its quota;
    - ``cancelled``: withdrawn because the broadcast was cancelled; ``failed``: anything else.
    """
    o = outbox.c
    failed = o.status == "failed"
    error = func.lower(func.coalesce(o.last_error, ""))
    unreachable = failed & (func.substr(o.last_error, 1, 11) == "Unreachable")
    return case(
        (unreachable & error.like("%block%"), literal("blocked")),
        (unreachable, literal("unreachable")),
        (failed & (o.last_error == "cancelled"), literal("cancelled")),
        ((o.status == "sent") & (o.sent_via == "template"), literal("template")),
        (failed & (func.substr(o.last_error, 1, len(NOT_IN_WINDOW)) == NOT_IN_WINDOW),
         literal("not_in_window")),
        (failed & error.like("%quota%"), literal("template_quota")),
        ((o.status == "pending") & error.like("rate limited%"), literal("rate_limited")),
        else_=o.status,
    )  # fmt: skip


class SqlBroadcastRepository(_Repo):
    async def steps(self) -> Sequence[ReminderStep]:
        s = reminder_steps.c
        rows = await self._conn.execute(
            select(s.id, s.event, s.days, s.active).order_by(s.event, s.days)
        )
        return [ReminderStep(int(i), str(e), int(d), bool(a)) for i, e, d, a in rows]

    async def add_step(self, event: str, days: int, by: str, now: datetime) -> ReminderStep | None:
        s = reminder_steps.c
        if await self._conn.scalar(select(s.id).where(s.event == event, s.days == days)):
            return None
        result = await self._conn.execute(
            insert(reminder_steps)
            .values(event=event, days=days, active=True, updated_at=now, updated_by=by)
            .returning(s.id)
        )
        return ReminderStep(int(result.scalar_one()), event, days, True)

    async def set_step(
        self, step_id: int, days: int | None, active: bool | None, by: str, now: datetime
    ) -> bool:
        s = reminder_steps.c
        found = (await self._conn.execute(select(s.event).where(s.id == step_id))).first()
        if found is None:
            return False
        values: dict[str, Any] = {"updated_at": now, "updated_by": by}
        if days is not None:
            taken = select(s.id).where(s.event == found[0], s.days == days, s.id != step_id)
            if await self._conn.scalar(taken):
                return False
            values["days"] = days
        if active is not None:
            values["active"] = active
        await self._conn.execute(update(reminder_steps).where(s.id == step_id).values(**values))
        return True

    async def create(
        self,
        text: str,
        choices: Sequence[tuple[str, Any]],
        audience: dict[str, Any],
        created_by: str,
        now: datetime,
        scheduled_at: datetime,
    ) -> Broadcast:
        result = await self._conn.execute(
            insert(broadcasts)
            .values(
                text=text,
                choices=[list(c) for c in choices],
                audience=audience,
                created_by=created_by,
                created_at=now,
                scheduled_at=scheduled_at,
                status="scheduled",
                recipients=0,
            )
            .returning(broadcasts.c.id)
        )
        found = await self.get(int(result.scalar_one()))
        assert found is not None
        return found

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = (
            (await self._conn.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id)))
            .mappings()
            .first()
        )
        return _broadcast(row) if row else None

    async def due(self, now: datetime) -> Sequence[Broadcast]:
        rows = (
            await self._conn.execute(
                select(broadcasts)
                .where(broadcasts.c.status == "scheduled", broadcasts.c.scheduled_at <= now)
                .order_by(broadcasts.c.id)
            )
        ).mappings()
        return [_broadcast(row) for row in rows]

    async def count_audience(self, audience: dict[str, Any]) -> int:
        counted = select(func.count()).select_from(_audience_query(audience).subquery())
        return int(await self._bulk.scalar(counted) or 0)

    async def audience_accounts(self, audience: dict[str, Any], channel: str) -> list[str]:
        """The external ids the audience reaches on one channel (a preview's per-channel
        notes: how many a Zalo OA would reach only by its paid template)."""
        people = _audience_query(audience).subquery()
        rows = await self._bulk.execute(
            select(people.c.external_id).where(people.c.channel == channel)
        )
        return [str(external_id) for (external_id,) in rows]

    async def enqueue(self, broadcast: Broadcast, priority: int, now: datetime) -> int:
        people = _audience_query(broadcast.audience).subquery()
        rows = select(
            people.c.channel,
            people.c.external_id,
            literal("broadcast"),
            literal(priority),
            literal({"broadcast": broadcast.id}, JSON),
            literal("pending"),
            literal(0),
            literal(now, DateTime(timezone=True)),
            literal(now, DateTime(timezone=True)),
            literal(broadcast.id),
        )
        columns = [
            "channel", "external_id", "kind", "priority", "payload", "status", "attempts",
            "not_before", "created_at", "broadcast_id",
        ]  # fmt: skip
        result = await self._bulk.execute(insert(outbox).from_select(columns, rows))
        count = int(result.rowcount or 0)
        await self._bulk.execute(
            update(broadcasts)
            .where(broadcasts.c.id == broadcast.id)
            .values(status="queued", recipients=count)
        )
        return count

    async def cancel(self, broadcast_id: int) -> int:
        await self._conn.execute(
            update(broadcasts)
            .where(broadcasts.c.id == broadcast_id, broadcasts.c.status != "cancelled")
            .values(status="cancelled")
        )
        result = await self._conn.execute(
            update(outbox)
            .where(outbox.c.broadcast_id == broadcast_id, outbox.c.status == "pending")
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)

    async def report(self, broadcast_id: int) -> dict[str, int]:
        """The broadcast's messages by outcome (``_outcome``), without the per-recipient ward
        lookup ``report_by_ward`` makes (the console's page asks every 15 seconds)."""
        by_outcome = await self._counts(broadcast_id, by_ward=False)
        # the kinds every channel has, always; the others (a channel's own, a reason) when any,
        # in the order of OUTCOMES
        counts = {"sent": 0, "failed": 0, "blocked": 0, "pending": 0, "cancelled": 0}
        counts.update(by_outcome.get(None, {}))
        return dict(sorted(counts.items(), key=lambda item: _rank(item[0])))

    async def report_by_ward(self, broadcast_id: int) -> dict[str | None, dict[str, int]]:
        """The same outcomes for each recipient's ward (None: an account no longer anyone's,
        erased since)."""
        return await self._counts(broadcast_id, by_ward=True)

    async def _counts(self, broadcast_id: int, by_ward: bool) -> dict[str | None, dict[str, int]]:
        """Outcomes counted, for each recipient's ward when ``by_ward`` (else all under None),
        each ward's in the order of OUTCOMES."""
        o = outbox.c
        ward: Any = literal(None, String)
        if by_ward:
            ward = (
                select(citizens.c.ward_code)
                .select_from(identities.join(citizens, citizens.c.id == identities.c.citizen_id))
                .where(identities.c.channel == o.channel, identities.c.external_id == o.external_id)
                .limit(1)
                .scalar_subquery()
            )
        outcomes = (
            select(_outcome().label("outcome"), ward.label("ward"))
            .where(o.broadcast_id == broadcast_id)
            .subquery()
        )
        # grouped by the subquery's columns, not by an expression repeated with bound values:
        # PostgreSQL matches GROUP BY expressions by their text, and each repetition gets
        # parameters of its own ($1, $2 … against $4, $5 …), which it refuses (issue 18)
        rows = await self._bulk.execute(
            select(outcomes.c.ward, outcomes.c.outcome, func.count()).group_by(
                outcomes.c.ward, outcomes.c.outcome
            )
        )
        found: dict[str | None, dict[str, int]] = {}
        for code, outcome, count in sorted(rows, key=lambda row: _rank(str(row[1]))):
            found.setdefault(code, {})[str(outcome)] = int(count)
        return found

    async def requeue(self, broadcast_id: int, outcomes: Collection[str], now: datetime) -> int:
        o = outbox.c
        chosen = select(o.id).where(
            o.broadcast_id == broadcast_id, _outcome().in_(sorted(outcomes))
        )
        ids = [int(row_id) for (row_id,) in await self._bulk.execute(chosen)]
        for start in range(0, len(ids), 500):
            await self._bulk.execute(
                update(outbox)
                .where(o.id.in_(ids[start : start + 500]), o.status == "failed")
                .values(status="pending", last_error=None, attempts=0, not_before=now, sent_at=None)
            )
        return len(ids)

    async def received(self, accounts: Sequence[tuple[str, str]]) -> Sequence[Received]:
        if not accounts:
            return []
        o = outbox.c
        mine = or_(*(and_(o.channel == ch, o.external_id == ext) for ch, ext in accounts))
        query = (
            select(o.broadcast_id, o.payload, broadcasts.c.text, o.status, o.created_at, o.sent_at)
            .select_from(outbox.outerjoin(broadcasts, broadcasts.c.id == o.broadcast_id))
            .where(mine, o.kind.in_(("broadcast", "reminder")))
            .order_by(o.id)
        )
        rows = await self._conn.execute(query)
        return [
            Received(
                number,
                text if number is not None else (payload or {}).get("text"),
                status,
                _aware(created_at),  # type: ignore[arg-type]
                _aware(sent_at),
            )
            for number, payload, text, status, created_at, sent_at in rows
        ]

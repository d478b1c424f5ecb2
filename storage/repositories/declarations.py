"""Declarations, their answers, evidence and audit events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select, update

from bot.domain.consents import STATISTICS
from bot.domain.records import Citizen, Declaration, DeclarationEvent, EvidenceFile, IndicatorAnswer
from storage.models import (
    citizens,
    declaration_answers,
    declaration_events,
    declarations,
    evidence_files,
)
from storage.repositories._base import Prepared, _insert_or_ignore, _Repo, upsert
from storage.repositories._rows import _EVIDENCE_FIELDS, _aware, _citizen, _declaration
from storage.repositories.citizens import agreed_to

_FOR_YEAR = Prepared(
    lambda _: select(declarations).where(
        declarations.c.citizen_id == bindparam("citizen_id"),
        declarations.c.year == bindparam("year"),
    )
)
_BY_ID = Prepared(
    lambda _: select(declarations).where(declarations.c.id == bindparam("declaration"))
)
# the SET clause comes from the parameters' names: updated_at
_TOUCH = Prepared(
    lambda _: update(declarations).where(declarations.c.id == bindparam("declaration"))
)
_ANSWER_UPSERTS: dict[tuple[str, ...], Prepared] = {}


def _answer_upsert(fields: tuple[str, ...]) -> Prepared:
    """INSERT an indicator's answer, or UPDATE these ``fields`` (and updated_at) of it."""
    prepared = _ANSWER_UPSERTS.get(fields)
    if prepared is None:
        prepared = _ANSWER_UPSERTS[fields] = Prepared(
            lambda dialect: upsert(
                dialect,
                declaration_answers,
                ["declaration_id", "indicator"],
                [*fields, "updated_at"],
            )
        )
    return prepared


class SqlDeclarationRepository(_Repo):
    async def _one(self, query: Any) -> Declaration | None:
        row = (await self._conn.execute(query)).mappings().first()
        return _declaration(row) if row else None

    async def for_year(self, citizen_id: int, year: int) -> Declaration | None:
        key = {"citizen_id": citizen_id, "year": year}
        row = (await self._conn.execute(_FOR_YEAR.of(self._conn), key)).mappings().first()
        return _declaration(row) if row else None

    async def of_citizen(self, citizen_id: int) -> Sequence[Declaration]:
        rows = await self._conn.execute(
            select(declarations)
            .where(declarations.c.citizen_id == citizen_id)
            .order_by(declarations.c.year)
        )
        return [_declaration(row) for row in rows.mappings()]

    async def latest(self, citizen_id: int) -> Declaration | None:
        return await self._one(
            select(declarations)
            .where(declarations.c.citizen_id == citizen_id)
            .order_by(declarations.c.year.desc())
            .limit(1)
        )

    async def create(
        self, citizen_id: int, year: int, criteria_set: str, now: datetime
    ) -> Declaration:
        result = await self._conn.execute(
            insert(declarations)
            .values(
                citizen_id=citizen_id,
                year=year,
                criteria_set=criteria_set,
                status="draft",
                created_at=now,
                updated_at=now,
            )
            .returning(declarations.c.id)
        )
        return Declaration(
            result.scalar_one(), citizen_id, year, criteria_set, "draft", now, now, None
        )

    async def answers(self, declaration_id: int) -> dict[int, IndicatorAnswer]:
        found = await self._answers(declarations.c.id == declaration_id, self._conn)
        return found.get(declaration_id, {})

    async def answers_by_declaration(
        self, year: int | None = None, citizen_ids: tuple[int, int] | None = None
    ) -> dict[int, dict[int, IndicatorAnswer]]:
        where = declarations.c.year == year if year is not None else None
        if citizen_ids is not None:
            span = declarations.c.citizen_id.between(*citizen_ids)
            where = span if where is None else where & span
        return await self._answers(where, self._bulk)

    async def _answers(self, where: Any, runner: Any) -> dict[int, dict[int, IndicatorAnswer]]:
        answer_rows = select(declaration_answers).join(
            declarations, declarations.c.id == declaration_answers.c.declaration_id
        )
        count_rows = (
            select(evidence_files.c.declaration_id, evidence_files.c.indicator, func.count())
            .join(declarations, declarations.c.id == evidence_files.c.declaration_id)
            .group_by(evidence_files.c.declaration_id, evidence_files.c.indicator)
        )
        if where is not None:
            answer_rows, count_rows = answer_rows.where(where), count_rows.where(where)
        found: dict[int, dict[int, IndicatorAnswer]] = {}
        for row in (await runner.execute(answer_rows)).mappings():
            found.setdefault(row["declaration_id"], {})[row["indicator"]] = IndicatorAnswer(
                row["indicator"],
                row["score"],
                row["note"],
                verified_score=row["verified_score"],
                adjust_reason=row["adjust_reason"],
            )
        for declaration_id, indicator, count in await runner.execute(count_rows):
            answers = found.setdefault(declaration_id, {})
            answer = answers.get(indicator) or IndicatorAnswer(indicator, None, None)
            answers[indicator] = replace(answer, evidence_count=int(count))
        return found

    async def _upsert_answer(
        self, declaration_id: int, indicator: int, now: datetime, **values: Any
    ) -> None:
        statement = _answer_upsert(tuple(sorted(values))).of(self._conn)
        await self._conn.execute(
            statement,
            {"declaration_id": declaration_id, "indicator": indicator, "updated_at": now, **values},
        )
        await self._touch(declaration_id, now)

    async def _touch(self, declaration_id: int, now: datetime, **values: Any) -> None:
        if not values:
            key = {"declaration": declaration_id, "updated_at": now}
            await self._conn.execute(_TOUCH.of(self._conn), key)
            return
        await self._conn.execute(
            update(declarations)
            .where(declarations.c.id == declaration_id)
            .values(updated_at=now, **values)
        )

    async def set_score(
        self, declaration_id: int, indicator: int, score: int | None, now: datetime
    ) -> None:
        await self._upsert_answer(declaration_id, indicator, now, score=score)

    async def set_note(
        self, declaration_id: int, indicator: int, note: str | None, now: datetime
    ) -> None:
        await self._upsert_answer(declaration_id, indicator, now, note=note)

    async def set_status(self, declaration_id: int, status: str, now: datetime) -> None:
        extra: dict[str, Any] = {"submitted_at": now} if status == "submitted" else {}
        await self._touch(declaration_id, now, status=status, **extra)

    async def add_evidence(self, evidence: EvidenceFile, now: datetime) -> bool:
        values = {name: getattr(evidence, name) for name in _EVIDENCE_FIELDS}
        result = await self._conn.execute(
            _insert_or_ignore(self._conn, evidence_files).values(created_at=now, **values)
        )
        if result.rowcount:
            await self._touch(evidence.declaration_id, now)
        return bool(result.rowcount)

    async def evidence(self, declaration_id: int) -> Sequence[EvidenceFile]:
        rows = (
            await self._conn.execute(
                select(evidence_files)
                .where(evidence_files.c.declaration_id == declaration_id)
                .order_by(evidence_files.c.indicator, evidence_files.c.id)
            )
        ).mappings()
        return [EvidenceFile(**{n: row[n] for n in _EVIDENCE_FIELDS}, id=row["id"]) for row in rows]

    async def blob_in_use(self, sha256: str) -> bool:
        found = await self._conn.scalar(
            select(evidence_files.c.id).where(evidence_files.c.sha256 == sha256).limit(1)
        )
        return found is not None

    async def all_blobs(self) -> set[str]:
        return set((await self._bulk.execute(select(evidence_files.c.sha256).distinct())).scalars())

    async def list(
        self, year: int | None = None, citizen_ids: tuple[int, int] | None = None
    ) -> Sequence[Declaration]:
        query = select(declarations).order_by(declarations.c.citizen_id, declarations.c.year)
        if year is not None:
            query = query.where(declarations.c.year == year)
        if citizen_ids is not None:
            query = query.where(declarations.c.citizen_id.between(*citizen_ids))
        return [_declaration(row) for row in (await self._bulk.execute(query)).mappings()]

    async def get(self, declaration_id: int) -> Declaration | None:
        key = {"declaration": declaration_id}
        row = (await self._conn.execute(_BY_ID.of(self._conn), key)).mappings().first()
        return _declaration(row) if row else None

    async def claim(
        self, declaration_id: int, staff_id: int, now: datetime, stale_before: datetime
    ) -> int | None:
        c = declarations.c
        await self._conn.execute(
            update(declarations)
            .where(
                c.id == declaration_id,
                (c.claimed_by.is_(None))
                | (c.claimed_by == staff_id)
                | (c.claimed_at < stale_before),
            )
            .values(claimed_by=staff_id, claimed_at=now)
        )
        holder: int | None = await self._conn.scalar(
            select(c.claimed_by).where(c.id == declaration_id)
        )
        return holder

    async def review_events(
        self, wards: Collection[str] | None, year: int | None = None
    ) -> Sequence[tuple[int, str, DeclarationEvent]]:
        """Every status change of the declarations of citizens of ``wards`` (None: all), with
        each declaration's ward, in order (the reviewer analytics read them)."""
        e, d = declaration_events.c, declarations.c
        query = (
            select(declaration_events, citizens.c.ward_code.label("ward_code"))
            .join(declarations, d.id == e.declaration_id)
            .join(citizens, citizens.c.id == d.citizen_id)
            .order_by(e.declaration_id, e.created_at, e.id)
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        if year is not None:
            query = query.where(d.year == year)
        found = []
        for row in (await self._bulk.execute(query)).mappings():
            event = DeclarationEvent(
                row["declaration_id"], row["actor"], row["from_status"], row["to_status"],
                row["reason"], row["adjusted"], row["round"],
                _aware(row["created_at"]),  # type: ignore[arg-type]
                row["id"],
            )  # fmt: skip
            found.append((int(row["declaration_id"]), str(row["ward_code"]), event))
        return found

    async def assign(self, declaration_id: int, staff_id: int | None, now: datetime) -> None:
        await self._conn.execute(
            update(declarations)
            .where(declarations.c.id == declaration_id)
            .values(assigned_to=staff_id, assigned_at=now if staff_id is not None else None)
        )

    async def open_load(self, staff_ids: Collection[int]) -> dict[int, tuple[int, datetime | None]]:
        if not staff_ids:
            return {}
        d = declarations.c
        open_ = func.sum(case((d.status == "submitted", 1), else_=0))
        query = (
            select(d.assigned_to, open_, func.max(d.assigned_at))
            .where(d.assigned_to.in_(sorted(staff_ids)))
            .group_by(d.assigned_to)
        )
        return {
            int(staff_id): (int(count or 0), _aware(last))
            for staff_id, count, last in await self._conn.execute(query)
        }

    async def of_org(
        self, org_id: int, statuses: Sequence[str]
    ) -> Sequence[tuple[Declaration, Citizen]]:
        query = (
            select(declarations, *[col.label(f"c_{col.name}") for col in citizens.c])
            .join(citizens, citizens.c.id == declarations.c.citizen_id)
            .where(declarations.c.status.in_(list(statuses)), citizens.c.org_id == org_id)
            .order_by(declarations.c.submitted_at, declarations.c.id)
        )
        found = []
        for row in (await self._conn.execute(query)).mappings():
            person = {col.name: row[f"c_{col.name}"] for col in citizens.c}
            found.append((_declaration(row), _citizen(person)))  # type: ignore[arg-type]
        return found

    async def returned_idle(
        self, year: int, returned_before: datetime, returned_after: datetime
    ) -> Sequence[Declaration]:
        d = declarations.c
        query = (
            select(declarations)
            .where(
                d.status == "returned",
                d.year == year,
                d.updated_at <= returned_before,
                d.updated_at > returned_after,
            )
            .order_by(d.id)
        )
        return [_declaration(row) for row in (await self._bulk.execute(query)).mappings()]

    async def assigned_open(
        self, staff_id: int | None = None, assigned_before: datetime | None = None
    ) -> Sequence[tuple[Declaration, Citizen]]:
        d = declarations.c
        query = (
            select(declarations, *[col.label(f"c_{col.name}") for col in citizens.c])
            .join(citizens, citizens.c.id == d.citizen_id)
            .where(d.status == "submitted", d.assigned_to.is_not(None))
            .order_by(d.assigned_at, d.id)
        )
        if staff_id is not None:
            query = query.where(d.assigned_to == staff_id)
        if assigned_before is not None:
            query = query.where(d.assigned_at < assigned_before)
        found = []
        for row in (await self._conn.execute(query)).mappings():
            person = {col.name: row[f"c_{col.name}"] for col in citizens.c}
            found.append((_declaration(row), _citizen(person)))  # type: ignore[arg-type]
        return found

    async def release(self, declaration_id: int, staff_id: int) -> None:
        await self._conn.execute(
            update(declarations)
            .where(declarations.c.id == declaration_id, declarations.c.claimed_by == staff_id)
            .values(claimed_by=None, claimed_at=None)
        )

    async def update(self, declaration_id: int, now: datetime, **fields: Any) -> None:
        if "reopened" in fields and fields["reopened"] is not None:
            fields["reopened"] = list(fields["reopened"])
        await self._touch(declaration_id, now, **fields)

    async def set_verified(
        self, declaration_id: int, indicator: int, score: int | None, reason: str | None
    ) -> None:
        await self._conn.execute(
            update(declaration_answers)
            .where(
                declaration_answers.c.declaration_id == declaration_id,
                declaration_answers.c.indicator == indicator,
            )
            .values(verified_score=score, adjust_reason=reason)
        )

    async def add_event(self, event: DeclarationEvent) -> None:
        await self._conn.execute(
            insert(declaration_events).values(
                declaration_id=event.declaration_id,
                actor=event.actor,
                from_status=event.from_status,
                to_status=event.to_status,
                reason=event.reason,
                adjusted=event.adjusted,
                round=event.round,
                created_at=event.created_at,
            )
        )

    async def events(self, declaration_id: int) -> Sequence[DeclarationEvent]:
        rows = (
            await self._conn.execute(
                select(declaration_events)
                .where(declaration_events.c.declaration_id == declaration_id)
                .order_by(declaration_events.c.id)
            )
        ).mappings()
        return [
            DeclarationEvent(
                row["declaration_id"],
                row["actor"],
                row["from_status"],
                row["to_status"],
                row["reason"],
                row["adjusted"],
                row["round"],
                _aware(row["created_at"]),  # type: ignore[arg-type]
                row["id"],
            )
            for row in rows
        ]

    async def event_counts(self, citizen_ids: tuple[int, int] | None = None) -> dict[int, int]:
        query = select(declaration_events.c.declaration_id, func.count()).group_by(
            declaration_events.c.declaration_id
        )
        if citizen_ids is not None:
            query = query.join(
                declarations, declarations.c.id == declaration_events.c.declaration_id
            ).where(declarations.c.citizen_id.between(*citizen_ids))
        rows = await self._bulk.execute(query)
        return {declaration_id: int(count) for declaration_id, count in rows}

    async def idle_drafts(
        self, year: int, touched_before: datetime, touched_after: datetime
    ) -> Sequence[tuple[Declaration, int]]:
        scored = (
            select(func.count())
            .where(
                declaration_answers.c.declaration_id == declarations.c.id,
                declaration_answers.c.score.is_not(None),
            )
            .scalar_subquery()
        )
        query = (
            select(declarations, scored.label("scored"))
            .where(
                declarations.c.status == "draft",
                declarations.c.year == year,
                declarations.c.updated_at <= touched_before,
                declarations.c.updated_at > touched_after,
            )
            .order_by(declarations.c.id)
        )
        rows = (await self._bulk.execute(query)).mappings()
        return [(_declaration(row), int(row["scored"])) for row in rows]

    async def status_counts(self, year: int, wards: Collection[str] | None) -> dict[str, int]:
        query = (
            select(declarations.c.status, func.count())
            .join(citizens, citizens.c.id == declarations.c.citizen_id)
            .where(declarations.c.year == year)
            .group_by(declarations.c.status)
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        return {status: int(count) for status, count in await self._bulk.execute(query)}

    async def counts_by_unit(
        self, year: int, wards: Collection[str] | None, purpose: str | None = STATISTICS
    ) -> Sequence[tuple[str, int, str, int]]:
        """(unit, target group, status, declarations) of ``year`` for statistics: by default
        only citizens with an active consent to the statistics purpose (None: everyone)."""
        query = (
            select(
                citizens.c.ward_code, citizens.c.target_group, declarations.c.status, func.count()
            )
            .join(citizens, citizens.c.id == declarations.c.citizen_id)
            .where(declarations.c.year == year)
            .group_by(citizens.c.ward_code, citizens.c.target_group, declarations.c.status)
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        if purpose is not None:
            query = query.where(agreed_to(purpose))
        rows = await self._bulk.execute(query)
        return [(str(w), int(g), str(s), int(n)) for w, g, s, n in rows]

    async def recognised_with(
        self,
        year: int,
        wards: Collection[str] | None,
        indicator: int,
        min_score: int,
        purpose: str | None = STATISTICS,
    ) -> dict[str, int]:
        """Recognised declarations by unit whose ``indicator`` reached ``min_score``, for
        statistics: by default only citizens with an active consent to the statistics purpose."""
        score = func.coalesce(declaration_answers.c.verified_score, declaration_answers.c.score)
        query = (
            select(citizens.c.ward_code, func.count())
            .select_from(declarations)
            .join(citizens, citizens.c.id == declarations.c.citizen_id)
            .join(
                declaration_answers,
                (declaration_answers.c.declaration_id == declarations.c.id)
                & (declaration_answers.c.indicator == indicator),
            )
            .where(
                declarations.c.year == year,
                declarations.c.status == "recognised",
                score >= min_score,
            )
            .group_by(citizens.c.ward_code)
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        if purpose is not None:
            query = query.where(agreed_to(purpose))
        return {str(w): int(n) for w, n in await self._bulk.execute(query)}

    async def purge_evidence(self, decided_before: datetime, now: datetime) -> int:
        d = declarations.c
        due = (
            select(d.id)
            .where(
                d.status.in_(("recognised", "not_recognised")),
                d.decided_at < decided_before,
                d.evidence_purged_at.is_(None),
            )
            .execution_options(cdht_bulk=True)
        )
        ids = [int(number) for (number,) in await self._bulk.execute(due)]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            await self._conn.execute(
                delete(evidence_files).where(evidence_files.c.declaration_id.in_(chunk))
            )
            await self._conn.execute(
                update(declarations).where(d.id.in_(chunk)).values(evidence_purged_at=now)
            )
        return len(ids)

    async def pending(self, wards: frozenset[str] | None) -> Sequence[tuple[Declaration, Citizen]]:
        return await self.with_status(("submitted",), wards)

    async def with_status(
        self,
        statuses: Sequence[str],
        wards: Collection[str] | None,
        year: int | None = None,
        submitted_before: datetime | None = None,
    ) -> Sequence[tuple[Declaration, Citizen]]:
        query = (
            select(declarations, *[col.label(f"c_{col.name}") for col in citizens.c])
            .join(citizens, citizens.c.id == declarations.c.citizen_id)
            .where(declarations.c.status.in_(list(statuses)))
            # never submitted (a draft) last on both: SQLite puts NULL first, PostgreSQL last
            .order_by(declarations.c.submitted_at.nulls_last(), declarations.c.id)
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        if year is not None:
            query = query.where(declarations.c.year == year)
        if submitted_before is not None:
            query = query.where(declarations.c.submitted_at < submitted_before)
        found = []
        for row in (await self._bulk.execute(query)).mappings():
            person = {col.name: row[f"c_{col.name}"] for col in citizens.c}
            found.append((_declaration(row), _citizen(person)))  # type: ignore[arg-type]
        return found

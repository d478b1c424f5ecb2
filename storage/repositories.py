"""Repositories over one connection; they return plain records from ``bot.engine.ports``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    String,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.engine.ports import (
    Broadcast,
    Citizen,
    Consent,
    Conversation,
    Declaration,
    DeclarationEvent,
    EvidenceFile,
    Identity,
    InboxItem,
    IndicatorAnswer,
    Invitation,
    NewCitizen,
    OutboxMessage,
    OutboxRow,
    Staff,
    StorageUnavailable,
)
from storage.models import (
    broadcasts,
    citizens,
    code_attempts,
    consents,
    conversations,
    declaration_answers,
    declaration_events,
    declarations,
    evidence_files,
    identities,
    inbox,
    invitations,
    outbox,
    processed_updates,
    staff,
    staff_wards,
)

__all__ = ["SqlStore", "SqlUnitOfWork", "unavailable"]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class _Repo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn


def _insert_or_ignore(conn: AsyncConnection, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, in the connection's dialect."""
    insert_ = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert_(table).on_conflict_do_nothing()


class SqlUpdateRepository(_Repo):
    async def receive(self, channel: str, items: Sequence[InboxItem], now: datetime) -> list[str]:
        if not items:
            return []
        ids = [item.update_id for item in items]
        handled = set(
            (
                await self._conn.execute(
                    select(processed_updates.c.update_id).where(
                        processed_updates.c.channel == channel,
                        processed_updates.c.update_id.in_(ids),
                    )
                )
            ).scalars()
        )
        stored = []
        for item in items:
            if item.update_id in handled:
                continue
            result = await self._conn.execute(
                _insert_or_ignore(self._conn, inbox).values(
                    channel=channel,
                    update_id=item.update_id,
                    user_id=item.user_id,
                    payload=item.payload,
                    received_at=now,
                )
            )
            if result.rowcount:
                stored.append(item.update_id)
        return stored

    async def backlog(self, channel: str, limit: int = 10_000) -> Sequence[InboxItem]:
        rows = await self._conn.execute(
            select(inbox.c.update_id, inbox.c.user_id, inbox.c.payload)
            .where(inbox.c.channel == channel)
            .order_by(inbox.c.id)
            .limit(limit)
        )
        return [
            InboxItem(update_id, user_id, dict(payload)) for update_id, user_id, payload in rows
        ]

    async def claim(self, channel: str, update_id: str) -> bool:
        await self._conn.execute(
            delete(inbox).where(inbox.c.channel == channel, inbox.c.update_id == update_id)
        )
        result = await self._conn.execute(
            _insert_or_ignore(self._conn, processed_updates).values(
                channel=channel, update_id=update_id, processed_at=datetime.now(UTC)
            )
        )
        return bool(result.rowcount)

    async def prune(self, older_than: datetime) -> int:
        result = await self._conn.execute(
            delete(processed_updates).where(processed_updates.c.processed_at < older_than)
        )
        return int(result.rowcount or 0)


def _identity(row: RowMapping) -> Identity:
    menu = row["menu"]
    return Identity(
        row["id"],
        row["channel"],
        row["external_id"],
        row["citizen_id"],
        row["locale"],
        row["opted_out_at"] is not None,
        row["unreachable_at"] is not None,
        tuple((str(item[0]), str(item[1]), str(item[2])) for item in menu) if menu else None,
    )


class SqlIdentityRepository(_Repo):
    async def get(self, channel: str, external_id: str) -> Identity | None:
        row = (
            (
                await self._conn.execute(
                    select(identities).where(
                        identities.c.channel == channel, identities.c.external_id == external_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return _identity(row) if row else None

    async def create(self, channel: str, external_id: str, locale: str | None) -> Identity:
        result = await self._conn.execute(
            insert(identities)
            .values(
                channel=channel,
                external_id=external_id,
                locale=locale,
                created_at=datetime.now(UTC),
            )
            .returning(identities.c.id)
        )
        return Identity(result.scalar_one(), channel, external_id, None, locale)

    async def set_locale(self, identity_id: int, locale: str) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(locale=locale)
        )

    async def bind(self, identity_id: int, citizen_id: int) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(citizen_id=citizen_id)
        )

    async def delete(self, identity_id: int) -> None:
        await self._conn.execute(delete(identities).where(identities.c.id == identity_id))

    async def set_opt_out(self, identity_id: int, when: datetime | None) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(opted_out_at=when)
        )

    async def mark_unreachable(self, channel: str, external_id: str, when: datetime) -> None:
        await self._conn.execute(
            update(identities)
            .where(identities.c.channel == channel, identities.c.external_id == external_id)
            .values(unreachable_at=when)
        )

    async def set_menu(self, identity_id: int, menu: Sequence[tuple[str, str, str]] | None) -> None:
        await self._conn.execute(
            update(identities)
            .where(identities.c.id == identity_id)
            .values(menu=[list(item) for item in menu] if menu else None)
        )

    async def set_unreachable(self, identity_id: int, when: datetime | None) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(unreachable_at=when)
        )

    async def for_citizen(self, citizen_id: int) -> Sequence[Identity]:
        rows = (
            await self._conn.execute(
                select(identities)
                .where(identities.c.citizen_id == citizen_id)
                .order_by(identities.c.id)
            )
        ).mappings()
        return [_identity(row) for row in rows]

    async def delete_for_citizen(self, citizen_id: int) -> None:
        await self._conn.execute(delete(identities).where(identities.c.citizen_id == citizen_id))


class SqlConversationRepository(_Repo):
    async def get(self, identity_id: int) -> Conversation | None:
        row = (
            (
                await self._conn.execute(
                    select(conversations).where(conversations.c.identity_id == identity_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Conversation(
            row["identity_id"],
            row["flow"],
            row["step"],
            dict(row["collected"]),
            tuple(row["history"]),
            row["seq"],
        )

    async def save(self, conversation: Conversation) -> None:
        values: dict[str, Any] = {
            "flow": conversation.flow,
            "step": conversation.step,
            "collected": conversation.values,
            "history": list(conversation.history),
            "seq": conversation.seq,
            "updated_at": datetime.now(UTC),
        }
        result = await self._conn.execute(
            update(conversations)
            .where(conversations.c.identity_id == conversation.identity_id)
            .values(**values)
        )
        if not result.rowcount:
            await self._conn.execute(
                insert(conversations).values(identity_id=conversation.identity_id, **values)
            )

    async def delete(self, identity_id: int) -> None:
        await self._conn.execute(
            delete(conversations).where(conversations.c.identity_id == identity_id)
        )

    async def in_flow(self, flow: str) -> Sequence[tuple[Identity, Conversation]]:
        rows = (
            await self._conn.execute(
                select(identities, conversations)
                .join(conversations, conversations.c.identity_id == identities.c.id)
                .where(conversations.c.flow == flow)
            )
        ).mappings()
        return [
            (
                _identity(row),
                Conversation(
                    row["identity_id"],
                    row["flow"],
                    row["step"],
                    dict(row["collected"]),
                    tuple(row["history"]),
                    row["seq"],
                ),
            )
            for row in rows
        ]


_CITIZEN_COLUMNS = {
    "full_name": "full_name",
    "birth_year": "birth_year",
    "gender": "gender",
    "phone": "phone",
    "group": "target_group",
    "ward_code": "ward_code",
    "ward_name": "ward_name",
    "ward_data_version": "ward_data_version",
    "residential_group": "residential_group",
    "workplace": "workplace",
    "guardian_consent": "guardian_consent",
    "channel": "channel",
    "locale": "locale",
}


def _citizen_values(citizen: NewCitizen) -> dict[str, Any]:
    fields = asdict(citizen)
    return {column: fields[name] for name, column in _CITIZEN_COLUMNS.items()}


def _citizen(row: RowMapping) -> Citizen:
    return Citizen(
        **{name: row[column] for name, column in _CITIZEN_COLUMNS.items()},
        id=row["id"],
        registered_at=_aware(row["registered_at"]),
        updated_at=_aware(row["updated_at"]),
    )


class SqlCitizenRepository(_Repo):
    async def get(self, citizen_id: int) -> Citizen | None:
        row = (
            (await self._conn.execute(select(citizens).where(citizens.c.id == citizen_id)))
            .mappings()
            .first()
        )
        return _citizen(row) if row else None

    async def create(self, citizen: NewCitizen, now: datetime) -> Citizen:
        result = await self._conn.execute(
            insert(citizens)
            .values(**_citizen_values(citizen), registered_at=now, updated_at=now)
            .returning(citizens.c.id)
        )
        return Citizen(**asdict(citizen), id=result.scalar_one(), registered_at=now, updated_at=now)

    async def update(self, citizen_id: int, changes: NewCitizen, now: datetime) -> Citizen:
        await self._conn.execute(
            update(citizens)
            .where(citizens.c.id == citizen_id)
            .values(**_citizen_values(changes), updated_at=now)
        )
        updated = await self.get(citizen_id)
        if updated is None:
            raise LookupError(f"citizen {citizen_id} vanished during an update")
        return updated

    async def list(self, wards: str | Collection[str] | None = None) -> Sequence[Citizen]:
        query = select(citizens).order_by(citizens.c.id)
        if wards is not None:
            codes = [wards] if isinstance(wards, str) else sorted(wards)
            query = query.where(citizens.c.ward_code.in_(codes))
        rows = (await self._conn.execute(query)).mappings().all()
        return [_citizen(row) for row in rows]

    async def count(self, wards: Collection[str] | None = None) -> int:
        query = select(func.count()).select_from(citizens)
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        return int(await self._conn.scalar(query) or 0)

    async def not_started(
        self, year: int, registered_before: datetime, reminded_prefix: str
    ) -> Sequence[Citizen]:
        base = literal(reminded_prefix) + cast(citizens.c.id, String) + literal(f":{year}")
        reminded = (
            select(outbox.c.id)
            .where(outbox.c.dedupe_key >= base + literal(":"))
            .where(outbox.c.dedupe_key < base + literal(";"))  # ";" follows ":" in ASCII
            .exists()
        )
        declared = (
            select(declarations.c.id)
            .where(declarations.c.citizen_id == citizens.c.id, declarations.c.year == year)
            .exists()
        )
        query = (
            select(citizens)
            .where(citizens.c.registered_at <= registered_before, ~declared, ~reminded)
            .order_by(citizens.c.id)
        )
        return [_citizen(row) for row in (await self._conn.execute(query)).mappings()]

    async def delete(self, citizen_id: int) -> None:
        await self._conn.execute(delete(consents).where(consents.c.citizen_id == citizen_id))
        await self._conn.execute(delete(citizens).where(citizens.c.id == citizen_id))


def _consent(row: RowMapping) -> Consent:
    accepted = _aware(row["accepted_at"])
    assert accepted is not None
    return Consent(
        row["id"],
        row["citizen_id"],
        row["notice_version"],
        tuple(row["purposes"]),
        accepted,
        _aware(row["withdrawn_at"]),
        row["channel"],
        row["guardian_name"],
        row["guardian_relation"],
    )


class SqlConsentRepository(_Repo):
    async def record(
        self,
        citizen_id: int,
        notice_version: str,
        purposes: Sequence[str],
        accepted_at: datetime,
        channel: str,
        guardian_name: str | None = None,
        guardian_relation: str | None = None,
    ) -> Consent:
        result = await self._conn.execute(
            insert(consents)
            .values(
                citizen_id=citizen_id,
                notice_version=notice_version,
                purposes=list(purposes),
                accepted_at=accepted_at,
                channel=channel,
                guardian_name=guardian_name,
                guardian_relation=guardian_relation,
            )
            .returning(consents.c.id)
        )
        return Consent(
            result.scalar_one(),
            citizen_id,
            notice_version,
            tuple(purposes),
            accepted_at,
            None,
            channel,
            guardian_name,
            guardian_relation,
        )

    async def withdraw(self, citizen_id: int, purpose: str, when: datetime) -> int:
        withdrawn = 0
        for consent in await self.for_citizen(citizen_id):
            if consent.withdrawn_at is not None or purpose not in consent.purposes:
                continue
            await self._conn.execute(
                update(consents).where(consents.c.id == consent.id).values(withdrawn_at=when)
            )
            withdrawn += 1
            for kept in consent.purposes:  # an older record of several purposes: the others stay
                if kept != purpose:
                    await self.record(
                        citizen_id,
                        consent.notice_version,
                        [kept],
                        consent.accepted_at,
                        consent.channel,
                        consent.guardian_name,
                        consent.guardian_relation,
                    )
        return withdrawn

    async def latest_by_citizen(self) -> dict[int, Consent]:
        rows = (await self._conn.execute(select(consents).order_by(consents.c.id))).mappings()
        return {row["citizen_id"]: _consent(row) for row in rows}

    async def for_citizen(self, citizen_id: int) -> Sequence[Consent]:
        rows = (
            (
                await self._conn.execute(
                    select(consents)
                    .where(consents.c.citizen_id == citizen_id)
                    .order_by(consents.c.id)
                )
            )
            .mappings()
            .all()
        )
        return [_consent(row) for row in rows]


def _declaration(row: RowMapping) -> Declaration:
    return Declaration(
        row["id"],
        row["citizen_id"],
        row["year"],
        row["criteria_set"],
        row["status"],
        _aware(row["created_at"]),  # type: ignore[arg-type]
        _aware(row["updated_at"]),  # type: ignore[arg-type]
        _aware(row["submitted_at"]),
        review_round=row["review_round"],
        claimed_by=row["claimed_by"],
        claimed_at=_aware(row["claimed_at"]),
        reviewer=row["reviewer"],
        decision=row["decision"],
        decision_reason=row["decision_reason"],
        decided_by=row["decided_by"],
        decided_at=_aware(row["decided_at"]),
        return_note=row["return_note"],
        reopened=tuple(row["reopened"] or ()),
    )


_EVIDENCE_FIELDS = (
    "declaration_id",
    "indicator",
    "kind",
    "mime_type",
    "size",
    "sha256",
    "original_name",
    "channel",
    "channel_file_id",
)


class SqlDeclarationRepository(_Repo):
    async def _one(self, query: Any) -> Declaration | None:
        row = (await self._conn.execute(query)).mappings().first()
        return _declaration(row) if row else None

    async def for_year(self, citizen_id: int, year: int) -> Declaration | None:
        return await self._one(
            select(declarations).where(
                declarations.c.citizen_id == citizen_id, declarations.c.year == year
            )
        )

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
        found = await self._answers(declarations.c.id == declaration_id)
        return found.get(declaration_id, {})

    async def answers_by_declaration(
        self, year: int | None = None
    ) -> dict[int, dict[int, IndicatorAnswer]]:
        return await self._answers(declarations.c.year == year if year is not None else None)

    async def _answers(self, where: Any) -> dict[int, dict[int, IndicatorAnswer]]:
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
        for row in (await self._conn.execute(answer_rows)).mappings():
            found.setdefault(row["declaration_id"], {})[row["indicator"]] = IndicatorAnswer(
                row["indicator"],
                row["score"],
                row["note"],
                verified_score=row["verified_score"],
                adjust_reason=row["adjust_reason"],
            )
        for declaration_id, indicator, count in await self._conn.execute(count_rows):
            answers = found.setdefault(declaration_id, {})
            answer = answers.get(indicator) or IndicatorAnswer(indicator, None, None)
            answers[indicator] = replace(answer, evidence_count=int(count))
        return found

    async def _upsert_answer(
        self, declaration_id: int, indicator: int, now: datetime, **values: Any
    ) -> None:
        result = await self._conn.execute(
            update(declaration_answers)
            .where(
                declaration_answers.c.declaration_id == declaration_id,
                declaration_answers.c.indicator == indicator,
            )
            .values(updated_at=now, **values)
        )
        if not result.rowcount:
            await self._conn.execute(
                insert(declaration_answers).values(
                    declaration_id=declaration_id, indicator=indicator, updated_at=now, **values
                )
            )
        await self._touch(declaration_id, now)

    async def _touch(self, declaration_id: int, now: datetime, **values: Any) -> None:
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
        return set((await self._conn.execute(select(evidence_files.c.sha256).distinct())).scalars())

    async def list(self, year: int | None = None) -> Sequence[Declaration]:
        query = select(declarations).order_by(declarations.c.citizen_id, declarations.c.year)
        if year is not None:
            query = query.where(declarations.c.year == year)
        return [_declaration(row) for row in (await self._conn.execute(query)).mappings()]

    async def get(self, declaration_id: int) -> Declaration | None:
        return await self._one(select(declarations).where(declarations.c.id == declaration_id))

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

    async def event_counts(self) -> dict[int, int]:
        rows = await self._conn.execute(
            select(declaration_events.c.declaration_id, func.count()).group_by(
                declaration_events.c.declaration_id
            )
        )
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
        rows = (await self._conn.execute(query)).mappings()
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
        return {status: int(count) for status, count in await self._conn.execute(query)}

    async def pending(self, wards: frozenset[str] | None) -> Sequence[tuple[Declaration, Citizen]]:
        query = (
            select(declarations, *[col.label(f"c_{col.name}") for col in citizens.c])
            .join(citizens, citizens.c.id == declarations.c.citizen_id)
            .where(declarations.c.status == "submitted")
            .order_by(declarations.c.submitted_at, declarations.c.id)
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        found = []
        for row in (await self._conn.execute(query)).mappings():
            person = {col.name: row[f"c_{col.name}"] for col in citizens.c}
            found.append((_declaration(row), _citizen(person)))  # type: ignore[arg-type]
        return found


def _staff(row: RowMapping, wards: Sequence[str]) -> Staff:
    return Staff(
        row["id"],
        row["channel"],
        row["external_id"],
        row["role"],
        frozenset(wards),
        _aware(row["revoked_at"]),
        row["invited_by"],
        row["display_name"],
        row["phone"],
    )


class SqlStaffRepository(_Repo):
    async def _load(self, where: Any) -> list[Staff]:
        rows = (
            (await self._conn.execute(select(staff).where(where).order_by(staff.c.id)))
            .mappings()
            .all()
        )
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        wards: dict[int, list[str]] = {}
        for staff_id, ward in await self._conn.execute(
            select(staff_wards.c.staff_id, staff_wards.c.ward_code).where(
                staff_wards.c.staff_id.in_(ids)
            )
        ):
            wards.setdefault(staff_id, []).append(ward)
        return [_staff(row, wards.get(row["id"], [])) for row in rows]

    async def by_account(self, channel: str, external_id: str) -> Staff | None:
        found = await self._load(
            (staff.c.channel == channel) & (staff.c.external_id == external_id)
        )
        return found[0] if found else None

    async def get(self, staff_id: int) -> Staff | None:
        found = await self._load(staff.c.id == staff_id)
        return found[0] if found else None

    async def for_ward(self, ward_code: str) -> Sequence[Staff]:
        members = select(staff_wards.c.staff_id).where(staff_wards.c.ward_code == ward_code)
        return await self._load(
            staff.c.id.in_(members)
            & staff.c.revoked_at.is_(None)
            & staff.c.role.in_(("coordinator", "admin"))
        )

    async def admins(self) -> Sequence[Staff]:
        # only an admin invitation makes this role; CDHT_ADMINS is configuration, not a record
        return await self._load((staff.c.role == "admin") & staff.c.revoked_at.is_(None))

    async def all(self) -> Sequence[Staff]:
        return await self._load(staff.c.id > 0)

    async def redeem(
        self,
        channel: str,
        external_id: str,
        role: str,
        wards: Sequence[str],
        invited_by: str,
        now: datetime,
    ) -> Staff:
        existing = await self.by_account(channel, external_id)
        if existing is None:
            result = await self._conn.execute(
                insert(staff)
                .values(
                    channel=channel,
                    external_id=external_id,
                    role=role,
                    invited_by=invited_by,
                    created_at=now,
                )
                .returning(staff.c.id)
            )
            staff_id = int(result.scalar_one())
            known: frozenset[str] = frozenset()
        else:
            staff_id = existing.id
            revoked = existing.revoked_at is not None
            # an active admin stays one when given wards; anyone else gets the invitation's role
            keep = existing.role == "admin" and not revoked
            await self._conn.execute(
                update(staff)
                .where(staff.c.id == staff_id)
                .values(role="admin" if keep else role, revoked_at=None, invited_by=invited_by)
            )
            if revoked or existing.role == "none":
                # a revoked account comes back with the new invitation's wards only
                await self._conn.execute(
                    delete(staff_wards).where(staff_wards.c.staff_id == staff_id)
                )
                known = frozenset()
            else:
                known = existing.wards
        for ward in sorted(set(wards) - known):
            await self._conn.execute(insert(staff_wards).values(staff_id=staff_id, ward_code=ward))
        bound = await self.get(staff_id)
        assert bound is not None
        return bound

    async def record(self, channel: str, external_id: str, now: datetime) -> int:
        account = (staff.c.channel == channel) & (staff.c.external_id == external_id)
        existing = await self._conn.scalar(select(staff.c.id).where(account))
        if existing is None:
            await self._conn.execute(
                _insert_or_ignore(self._conn, staff).values(
                    channel=channel, external_id=external_id, role="none", created_at=now
                )
            )
            existing = await self._conn.scalar(select(staff.c.id).where(account))
        assert existing is not None
        return int(existing)

    async def set_profile(self, staff_id: int, display_name: str | None, phone: str | None) -> None:
        await self._conn.execute(
            update(staff)
            .where(staff.c.id == staff_id)
            .values(display_name=display_name, phone=phone)
        )

    async def revoke(self, staff_id: int, now: datetime) -> bool:
        result = await self._conn.execute(
            update(staff)
            .where(staff.c.id == staff_id, staff.c.revoked_at.is_(None), staff.c.role != "none")
            .values(revoked_at=now)
        )
        if result.rowcount:
            await self._conn.execute(
                update(declarations)
                .where(declarations.c.claimed_by == staff_id)
                .values(claimed_by=None, claimed_at=None)
            )
        return bool(result.rowcount)

    async def create_invitation(
        self,
        code_hash: str,
        role: str,
        wards: Sequence[str],
        created_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> int:
        result = await self._conn.execute(
            insert(invitations)
            .values(
                code_hash=code_hash,
                role=role,
                wards=list(wards),
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
            )
            .returning(invitations.c.id)
        )
        return int(result.scalar_one())

    async def invitation(self, code_hash: str) -> Invitation | None:
        query = select(invitations).where(invitations.c.code_hash == code_hash)
        return _invitation((await self._conn.execute(query)).mappings().first())

    async def consume_invitation(self, code_hash: str, now: datetime) -> Invitation | None:
        # One conditional UPDATE: of several redemptions racing for one code, exactly one gets
        # the row back (PostgreSQL re-checks the WHERE after the row lock; SQLite serializes).
        c = invitations.c
        query = (
            update(invitations)
            .where(c.code_hash == code_hash, c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now)
            .returning(*invitations.c)
        )
        return _invitation((await self._conn.execute(query)).mappings().first())

    async def set_used_by(self, invitation_id: int, staff_id: int) -> None:
        await self._conn.execute(
            update(invitations).where(invitations.c.id == invitation_id).values(used_by=staff_id)
        )

    async def failures(self, channel: str, external_id: str) -> tuple[int, datetime | None]:
        row = (
            await self._conn.execute(
                select(code_attempts.c.failures, code_attempts.c.locked_until).where(
                    code_attempts.c.channel == channel, code_attempts.c.external_id == external_id
                )
            )
        ).first()
        return (int(row[0]), _aware(row[1])) if row else (0, None)

    async def set_failures(
        self,
        channel: str,
        external_id: str,
        failures: int,
        locked_until: datetime | None,
        now: datetime,
    ) -> None:
        where = (code_attempts.c.channel == channel) & (code_attempts.c.external_id == external_id)
        await self._conn.execute(delete(code_attempts).where(where))
        if failures:
            await self._conn.execute(
                insert(code_attempts).values(
                    channel=channel,
                    external_id=external_id,
                    failures=failures,
                    locked_until=locked_until,
                    updated_at=now,
                )
            )


def _invitation(row: RowMapping | None) -> Invitation | None:
    if row is None:
        return None
    return Invitation(
        row["id"],
        row["role"],
        tuple(row["wards"]),
        row["created_by"],
        _aware(row["expires_at"]),  # type: ignore[arg-type]
        _aware(row["used_at"]),
    )


def _outbox_row(row: RowMapping) -> OutboxRow:
    message = OutboxMessage(
        row["channel"],
        row["external_id"],
        dict(row["payload"]),
        row["kind"],
        row["priority"],
        row["dedupe_key"],
        _aware(row["not_before"]),
        row["citizen_id"],
    )
    return OutboxRow(row["id"], message, row["attempts"], row["status"])


class SqlOutboxRepository(_Repo):
    async def add(self, message: OutboxMessage, now: datetime) -> int:
        result = await self._conn.execute(
            insert(outbox).values(**self._values(message, now)).returning(outbox.c.id)
        )
        return int(result.scalar_one())

    @staticmethod
    def _values(message: OutboxMessage, now: datetime) -> dict[str, Any]:
        return {
            "channel": message.channel,
            "external_id": message.external_id,
            "kind": message.kind,
            "priority": message.priority,
            "payload": message.payload,
            "status": "pending",
            "attempts": 0,
            "dedupe_key": message.dedupe_key,
            "not_before": message.not_before or now,
            "created_at": now,
            "citizen_id": message.citizen_id,
        }

    async def enqueue(self, message: OutboxMessage, now: datetime) -> bool:
        values = self._values(message, now)
        if message.dedupe_key is None:
            await self._conn.execute(insert(outbox).values(**values))
            return True
        result = await self._conn.execute(_insert_or_ignore(self._conn, outbox).values(**values))
        return bool(result.rowcount)

    async def due(
        self,
        channel: str,
        now: datetime,
        limit: int,
        bulk: bool = True,
        external_id: str | None = None,
    ) -> Sequence[OutboxRow]:
        query = (
            select(outbox)
            .where(
                outbox.c.status == "pending",
                outbox.c.channel == channel,
                outbox.c.not_before <= now,
            )
            .order_by(outbox.c.priority, outbox.c.id)
            .limit(limit)
        )
        if not bulk:
            query = query.where(outbox.c.kind.not_in(BULK_KINDS))
        if external_id is not None:
            query = query.where(outbox.c.external_id == external_id)
        rows = (await self._conn.execute(query)).mappings()
        return [_outbox_row(row) for row in rows]

    async def mark_sent(self, row_id: int, now: datetime) -> None:
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1)
        )

    async def delete(self, row_ids: Sequence[int]) -> None:
        if row_ids:
            await self._conn.execute(delete(outbox).where(outbox.c.id.in_(list(row_ids))))

    async def reschedule(self, row_ids: Sequence[int], not_before: datetime) -> None:
        if row_ids:
            await self._conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(row_ids)), outbox.c.status == "pending")
                .values(not_before=not_before)
            )

    async def release(self, kind: str, now: datetime) -> int:
        result = await self._conn.execute(
            update(outbox)
            .where(outbox.c.kind == kind, outbox.c.status == "pending", outbox.c.not_before > now)
            .values(not_before=now)
        )
        return int(result.rowcount or 0)

    async def prune(self, kind: str, older_than: datetime) -> int:
        result = await self._conn.execute(
            delete(outbox).where(
                outbox.c.kind == kind,
                outbox.c.status != "pending",
                outbox.c.created_at < older_than,
            )
        )
        return int(result.rowcount or 0)

    async def postpone(self, row_id: int, not_before: datetime, error: str) -> None:
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(not_before=not_before, last_error=error[:200], attempts=outbox.c.attempts + 1)
        )

    async def fail(self, row_id: int, error: str) -> None:
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(status="failed", last_error=error[:200], attempts=outbox.c.attempts + 1)
        )

    async def locales(self, row_ids: Sequence[int]) -> dict[int, str]:
        if not row_ids:
            return {}
        query = (
            select(outbox.c.id, func.coalesce(identities.c.locale, citizens.c.locale))
            .select_from(
                outbox.join(
                    identities,
                    (identities.c.channel == outbox.c.channel)
                    & (identities.c.external_id == outbox.c.external_id),
                ).outerjoin(citizens, citizens.c.id == identities.c.citizen_id)
            )
            .where(outbox.c.id.in_(list(row_ids)))
        )
        return {row_id: locale for row_id, locale in await self._conn.execute(query) if locale}

    async def counts(self) -> dict[str, int]:
        rows = await self._conn.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status)
        )
        return {status: int(count) for status, count in rows}

    async def erase(self, citizen_id: int, accounts: Sequence[tuple[str, str]]) -> int:
        to_them = or_(
            false(),
            *(
                (outbox.c.channel == channel) & (outbox.c.external_id == external_id)
                for channel, external_id in accounts
            ),
        )
        settled_broadcast = (outbox.c.kind == "broadcast") & (outbox.c.status != "pending")
        removed = await self._conn.execute(
            delete(outbox).where(
                (outbox.c.citizen_id == citizen_id) | (to_them & ~settled_broadcast)
            )
        )
        kept = await self._conn.execute(
            update(outbox)
            .where(to_them & settled_broadcast)
            .values(external_id="", last_error=None)
        )
        return int(removed.rowcount or 0) + int(kept.rowcount or 0)


BULK_KINDS = ("broadcast", "reminder")


def _broadcast(row: RowMapping) -> Broadcast:
    return Broadcast(
        row["id"],
        row["text"],
        tuple((str(c[0]), c[1]) for c in row["choices"]),
        dict(row["audience"]),
        row["created_by"],
        _aware(row["created_at"]),  # type: ignore[arg-type]
        _aware(row["scheduled_at"]),  # type: ignore[arg-type]
        row["status"],
        row["recipients"],
    )


def _audience_query(audience: dict[str, Any]) -> Any:
    """The reachable, subscribed accounts of registered citizens that the filters select."""
    query = (
        select(identities.c.channel, identities.c.external_id)
        .select_from(identities.join(citizens, citizens.c.id == identities.c.citizen_id))
        .where(identities.c.unreachable_at.is_(None), identities.c.opted_out_at.is_(None))
    )
    if audience.get("wards"):
        query = query.where(citizens.c.ward_code.in_(list(audience["wards"])))
    if audience.get("group"):
        query = query.where(citizens.c.target_group == int(audience["group"]))
    if audience.get("channel"):
        query = query.where(identities.c.channel == audience["channel"])
    if audience.get("locale"):
        query = query.where(
            func.coalesce(identities.c.locale, citizens.c.locale) == audience["locale"]
        )
    status = audience.get("status")
    if status:
        joined = declarations.c.citizen_id == citizens.c.id
        if audience.get("year"):
            joined = joined & (declarations.c.year == int(audience["year"]))
        query = query.outerjoin(declarations, joined)
        if status == "not_started":
            query = query.where(declarations.c.id.is_(None))
        elif status == "in_progress":
            query = query.where(declarations.c.status == "draft")
        else:
            query = query.where(declarations.c.status == status)
    return query


class SqlBroadcastRepository(_Repo):
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
        return int(await self._conn.scalar(counted) or 0)

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
        result = await self._conn.execute(insert(outbox).from_select(columns, rows))
        count = int(result.rowcount or 0)
        await self._conn.execute(
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
        rows = await self._conn.execute(
            select(
                outbox.c.status,
                func.coalesce(func.substr(outbox.c.last_error, 1, 11), ""),
                func.count(),
            )
            .where(outbox.c.broadcast_id == broadcast_id)
            .group_by(outbox.c.status, func.coalesce(func.substr(outbox.c.last_error, 1, 11), ""))
        )
        counts = {"sent": 0, "failed": 0, "blocked": 0, "pending": 0, "cancelled": 0}
        for status, error, count in rows:
            if status == "failed" and str(error).startswith("Unreachable"):
                counts["blocked"] += int(count)
            else:
                counts[status] = counts.get(status, 0) + int(count)
        return counts


class SqlUnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.updates = SqlUpdateRepository(conn)
        self.identities = SqlIdentityRepository(conn)
        self.conversations = SqlConversationRepository(conn)
        self.citizens = SqlCitizenRepository(conn)
        self.consents = SqlConsentRepository(conn)
        self.declarations = SqlDeclarationRepository(conn)
        self.staff = SqlStaffRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.broadcasts = SqlBroadcastRepository(conn)


def unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be used now (and may be later): it cannot be
    reached, it is locked past the busy timeout, its disk is full. Constraint violations and
    bad data are not such errors: they fail the same way every time."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class SqlStore:
    """Opens one transaction per unit of work: committed on success, rolled back on error.
    Errors that mean the database is unavailable become ``StorageUnavailable``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlUnitOfWork]:
        try:
            async with self.engine.begin() as conn:
                yield SqlUnitOfWork(conn)
        except StorageUnavailable:
            raise
        except Exception as exc:
            if unavailable(exc):
                raise StorageUnavailable(type(exc).__name__) from exc
            raise

    async def compact(self) -> None:
        """After an erasure: copy SQLite's write-ahead log into the file and empty it, so that
        erased rows (zeroed there by ``secure_delete``) are not left in old log frames."""
        if self.engine.dialect.name != "sqlite":
            return
        async with self.engine.connect() as conn:
            # on the driver's own connection: a checkpoint cannot run inside the transaction
            # SQLAlchemy would open (BEGIN IMMEDIATE, see storage/db.py)
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        await self.engine.dispose()

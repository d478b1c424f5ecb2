"""Repositories over one connection; they return plain records from ``bot.engine.ports``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.engine.ports import (
    Citizen,
    Consent,
    Conversation,
    Declaration,
    EvidenceFile,
    Identity,
    IndicatorAnswer,
    NewCitizen,
)
from storage.models import (
    citizens,
    consents,
    conversations,
    declaration_answers,
    declarations,
    evidence_files,
    identities,
    processed_updates,
)

__all__ = ["SqlStore", "SqlUnitOfWork"]


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
    async def claim(self, channel: str, update_id: str) -> bool:
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
    return Identity(row["id"], row["channel"], row["external_id"], row["citizen_id"], row["locale"])


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

    async def list(self, ward_code: str | None = None) -> Sequence[Citizen]:
        query = select(citizens).order_by(citizens.c.id)
        if ward_code is not None:
            query = query.where(citizens.c.ward_code == ward_code)
        rows = (await self._conn.execute(query)).mappings().all()
        return [_citizen(row) for row in rows]

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
    )


class SqlConsentRepository(_Repo):
    async def record(
        self,
        citizen_id: int,
        notice_version: str,
        purposes: Sequence[str],
        accepted_at: datetime,
        channel: str,
    ) -> Consent:
        result = await self._conn.execute(
            insert(consents)
            .values(
                citizen_id=citizen_id,
                notice_version=notice_version,
                purposes=list(purposes),
                accepted_at=accepted_at,
                channel=channel,
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
        )

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
                row["indicator"], row["score"], row["note"]
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


class SqlUnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.updates = SqlUpdateRepository(conn)
        self.identities = SqlIdentityRepository(conn)
        self.conversations = SqlConversationRepository(conn)
        self.citizens = SqlCitizenRepository(conn)
        self.consents = SqlConsentRepository(conn)
        self.declarations = SqlDeclarationRepository(conn)


class SqlStore:
    """Opens one transaction per unit of work: committed on success, rolled back on error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlUnitOfWork]:
        async with self.engine.begin() as conn:
            yield SqlUnitOfWork(conn)

    async def close(self) -> None:
        await self.engine.dispose()

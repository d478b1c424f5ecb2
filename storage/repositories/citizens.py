"""Citizens and their consents."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from bot.domain.consents import STATISTICS
from bot.domain.records import Citizen, CitizenChange, Consent, NewCitizen
from storage.models import citizen_changes, citizens, consents, declarations, link_codes, outbox
from storage.repositories._base import Prepared, _Repo
from storage.repositories._rows import _aware, _citizen, _citizen_values, _consent

_BY_ID = Prepared(lambda _: select(citizens).where(citizens.c.id == bindparam("citizen_id")))
_CREATE = Prepared(lambda _: insert(citizens).returning(citizens.c.id))
_RECORD_CONSENT = Prepared(lambda _: insert(consents).returning(consents.c.id))


def _consent_to(purpose: str) -> Any:
    """Consent records naming ``purpose`` and not withdrawn (what
    ``bot.domain.consents.active_purposes`` reads). ``purposes`` is a JSON list of fixed ASCII
    ids: its text holds ``"<purpose>"`` on SQLite and PostgreSQL alike."""
    listed = cast(consents.c.purposes, String).contains(json.dumps(purpose), autoescape=True)
    return (consents.c.withdrawn_at.is_(None), listed)


def consenting(purpose: str) -> Any:
    """The ids of citizens with an active consent to ``purpose``, for ``citizens.c.id.in_``:
    over every citizen SQLite reads the consents once (60–90 ms for 50,000 citizens, where a
    correlated EXISTS took 320 ms: bench/reports.py)."""
    return select(consents.c.citizen_id).where(*_consent_to(purpose))


def agreed_to(purpose: str) -> Any:
    """The row's citizen (``citizens.c.id``) holds an active consent to ``purpose``: a
    correlated EXISTS on ``ix_consents_citizen_id``, for queries over a subset of citizens
    (a year's declarations: 70 ms for 25,000, where ``consenting`` took 110 ms)."""
    return (
        select(consents.c.id)
        .where(consents.c.citizen_id == citizens.c.id, *_consent_to(purpose))
        .exists()
    )


def _name_holds(column: Any, words: str, dialect: str) -> Any:
    """``column`` holds ``words``, letters matched in either case, on both backends alike.

    Not ``lower(column) LIKE``: SQLite's ``lower()`` folds ASCII letters only («Đỗ» stays
    «Đỗ», so «đỗ» never matched on SQLite while PostgreSQL found it), and PostgreSQL's follows
    the database's LC_CTYPE (ASCII only under the C locale). Each letter typed becomes the set
    of its two cases instead, «[đĐ][ỗỖ]», in the pattern language of each backend: SQLite's
    GLOB (https://sqlite.org/lang_expr.html#the_like_glob_regexp_match_and_extract_operators),
    whose ``[...]`` sets and ``*`` read UTF-8 characters, and PostgreSQL's regular expressions
    (``~``, https://www.postgresql.org/docs/current/functions-matching.html#POSIX-BRACKET-
    EXPRESSIONS), unanchored. Anything else typed stands for itself."""
    parts = []
    for ch in words:
        cases = sorted({ch, ch.lower(), ch.upper()} - {""})
        cases = [c for c in cases if len(c) == 1]  # «ß».upper() is «SS»: not one character
        if len(cases) > 1:
            parts.append("[" + "".join(cases) + "]")
        elif dialect == "sqlite":
            parts.append(f"[{ch}]" if ch in "*?[" else ch)
        else:
            parts.append(ch if ch.isalnum() else "\\" + ch)
    pattern = "".join(parts)
    if dialect == "sqlite":
        return column.op("GLOB")(f"*{pattern}*")
    return column.op("~")(pattern)


class SqlCitizenRepository(_Repo):
    async def get(self, citizen_id: int) -> Citizen | None:
        key = {"citizen_id": citizen_id}
        row = (await self._conn.execute(_BY_ID.of(self._conn), key)).mappings().first()
        return _citizen(row) if row else None

    async def create(self, citizen: NewCitizen, now: datetime) -> Citizen:
        row = {**_citizen_values(citizen), "registered_at": now, "updated_at": now}
        result = await self._conn.execute(_CREATE.of(self._conn), row)
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
        rows = (await self._bulk.execute(query)).mappings().all()
        return [_citizen(row) for row in rows]

    async def count(self, wards: Collection[str] | None = None) -> int:
        query = select(func.count()).select_from(citizens)
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        return int(await self._bulk.scalar(query) or 0)

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
        return [_citizen(row) for row in (await self._bulk.execute(query)).mappings()]

    async def counts_by_unit(
        self, wards: Collection[str] | None = None, purpose: str | None = STATISTICS
    ) -> Sequence[tuple[str, int, int]]:
        """(unit, target group, citizens) for statistics: by default only citizens with an
        active consent to the statistics purpose (``purpose=None``: everyone)."""
        query = select(citizens.c.ward_code, citizens.c.target_group, func.count()).group_by(
            citizens.c.ward_code, citizens.c.target_group
        )
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        if purpose is not None:
            query = query.where(citizens.c.id.in_(consenting(purpose)))
        return [(str(w), int(g), int(n)) for w, g, n in await self._bulk.execute(query)]

    async def search(
        self, text: str, wards: Collection[str] | None, limit: int = 50
    ) -> Sequence[Citizen]:
        """Citizens whose name holds ``text`` whatever the case («đỗ thị» finds «Đỗ Thị Ánh»),
        or whose phone holds the digits typed (four or more), by name, at most ``limit``."""
        digits = "".join(ch for ch in text if ch.isdigit())
        words = " ".join(unicodedata.normalize("NFC", text).split())
        matches = [_name_holds(citizens.c.full_name, words, self._conn.dialect.name)]
        if len(digits) >= 4:  # a phone number typed in part, 0912… or +84912…
            national = digits[1:] if digits.startswith("0") else digits
            matches.append(citizens.c.phone.contains(national, autoescape=True))
        query = select(citizens).where(or_(*matches)).order_by(citizens.c.full_name).limit(limit)
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        return [_citizen(row) for row in (await self._bulk.execute(query)).mappings()]

    async def without_declaration(
        self, year: int, wards: Collection[str] | None = None
    ) -> Sequence[Citizen]:
        declared = (
            select(declarations.c.id)
            .where(declarations.c.citizen_id == citizens.c.id, declarations.c.year == year)
            .exists()
        )
        query = select(citizens).where(~declared).order_by(citizens.c.ward_code, citizens.c.id)
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        return [_citizen(row) for row in (await self._bulk.execute(query)).mappings()]

    async def page(
        self, wards: Collection[str] | None, after_id: int, size: int
    ) -> Sequence[Citizen]:
        query = select(citizens).where(citizens.c.id > after_id).order_by(citizens.c.id).limit(size)
        if wards is not None:
            query = query.where(citizens.c.ward_code.in_(sorted(wards)))
        return [_citizen(row) for row in (await self._bulk.execute(query)).mappings()]

    async def record_changes(
        self,
        citizen_id: int,
        changes: Sequence[tuple[str, str | None, str | None]],
        actor: str,
        now: datetime,
    ) -> None:
        if not changes:
            return
        await self._conn.execute(
            insert(citizen_changes),
            [
                {
                    "citizen_id": citizen_id,
                    "field": name,
                    "old_value": None if old is None else old[:300],
                    "new_value": None if new is None else new[:300],
                    "actor": actor,
                    "changed_at": now,
                }
                for name, old, new in changes
            ],
        )

    async def changes(self, citizen_id: int) -> Sequence[CitizenChange]:
        c = citizen_changes.c
        rows = await self._conn.execute(
            select(c.field, c.old_value, c.new_value, c.actor, c.changed_at)
            .where(c.citizen_id == citizen_id)
            .order_by(c.id)
        )
        return [
            CitizenChange(name, old, new, actor, _aware(at))  # type: ignore[arg-type]
            for name, old, new, actor, at in rows
        ]

    async def delete(self, citizen_id: int) -> None:
        for table in (citizen_changes, link_codes):
            await self._conn.execute(delete(table).where(table.c.citizen_id == citizen_id))
        await self._conn.execute(delete(consents).where(consents.c.citizen_id == citizen_id))
        await self._conn.execute(delete(citizens).where(citizens.c.id == citizen_id))


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
        row = {
            "citizen_id": citizen_id,
            "notice_version": notice_version,
            "purposes": list(purposes),
            "accepted_at": accepted_at,
            "channel": channel,
            "guardian_name": guardian_name,
            "guardian_relation": guardian_relation,
        }
        result = await self._conn.execute(_RECORD_CONSENT.of(self._conn), row)
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

    async def latest_by_citizen(
        self, citizen_ids: tuple[int, int] | None = None
    ) -> dict[int, Consent]:
        query = select(consents).order_by(consents.c.id)
        if citizen_ids is not None:
            query = query.where(consents.c.citizen_id.between(*citizen_ids))
        rows = (await self._bulk.execute(query)).mappings()
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

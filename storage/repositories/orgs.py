"""Organisations the admins keep, and the verifications they give declarations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select

from bot.domain.records import Org, OrgVerification
from storage.models import org_verifications, orgs
from storage.repositories._base import _insert_or_ignore, _Repo
from storage.repositories._rows import _aware


class SqlOrgRepository(_Repo):
    async def add(self, name: str, ward_code: str, by: str, now: datetime) -> Org | None:
        o = orgs.c
        if await self._conn.scalar(select(o.id).where(o.name == name, o.ward_code == ward_code)):
            return None
        result = await self._conn.execute(
            insert(orgs)
            .values(name=name, ward_code=ward_code, created_by=by, created_at=now)
            .returning(o.id)
        )
        return Org(int(result.scalar_one()), name, ward_code)

    async def all(self) -> Sequence[Org]:
        o = orgs.c
        rows = await self._conn.execute(select(o.id, o.name, o.ward_code).order_by(o.id))
        return [Org(int(i), str(n), str(w)) for i, n, w in rows]

    async def get(self, org_id: int) -> Org | None:
        o = orgs.c
        row = (
            await self._conn.execute(select(o.id, o.name, o.ward_code).where(o.id == org_id))
        ).first()
        return Org(int(row[0]), str(row[1]), str(row[2])) if row else None

    async def verify(
        self, declaration_id: int, org_id: int, actor: str, review_round: int, now: datetime
    ) -> bool:
        result = await self._conn.execute(
            _insert_or_ignore(self._conn, org_verifications).values(
                declaration_id=declaration_id, org_id=org_id, actor=actor, round=review_round,
                created_at=now,
            )
        )  # fmt: skip
        return bool(result.rowcount)

    async def verifications(self, declaration_id: int) -> Sequence[OrgVerification]:
        v, o = org_verifications.c, orgs.c
        query = (
            select(v.declaration_id, v.org_id, o.name, v.actor, v.round, v.created_at)
            .select_from(org_verifications.outerjoin(orgs, o.id == v.org_id))
            .where(v.declaration_id == declaration_id)
            .order_by(v.round)
        )
        return [
            OrgVerification(int(d), int(org), str(name or "?"), str(actor), int(rnd),
                            _aware(at))  # type: ignore[arg-type]
            for d, org, name, actor, rnd, at in await self._conn.execute(query)
        ]  # fmt: skip

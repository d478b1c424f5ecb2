"""The web console's sign-in links and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from bot.domain.records import WebSession
from storage.models import web_sessions, web_sign_ins
from storage.repositories._base import _Repo
from storage.repositories._rows import _aware


class SqlWebRepository(_Repo):
    async def add_sign_in(
        self, token_hash: str, account: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            insert(web_sign_ins).values(
                token_hash=token_hash, account=account, created_at=now, expires_at=expires_at
            )
        )

    async def use_sign_in(self, token_hash: str, now: datetime) -> str | None:
        # one conditional UPDATE: of two tabs opening one link, one gets the account
        c = web_sign_ins.c
        query = (
            update(web_sign_ins)
            .where(c.token_hash == token_hash, c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now)
            .returning(c.account)
        )
        found = (await self._conn.execute(query)).scalar()
        return None if found is None else str(found)

    async def add_session(self, id_hash: str, account: str, csrf: str, now: datetime) -> None:
        await self._conn.execute(
            insert(web_sessions).values(
                id_hash=id_hash, account=account, csrf=csrf, created_at=now, last_seen=now
            )
        )

    async def session(self, id_hash: str) -> WebSession | None:
        c = web_sessions.c
        row = (
            await self._conn.execute(
                select(c.account, c.csrf, c.created_at, c.last_seen).where(
                    c.id_hash == id_hash, c.ended_at.is_(None)
                )
            )
        ).first()
        if row is None:
            return None
        return WebSession(row[0], row[1], _aware(row[2]), _aware(row[3]))  # type: ignore[arg-type]

    async def touch(self, id_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(web_sessions).where(web_sessions.c.id_hash == id_hash).values(last_seen=now)
        )

    async def end(self, id_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(web_sessions).where(web_sessions.c.id_hash == id_hash).values(ended_at=now)
        )

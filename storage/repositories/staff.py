"""Staff, their wards, invitations and wrong-code counters.

A wrong-code counter is kept under a pseudonym of the chat account, a keyed hash (HMAC-SHA-256
of ``channel:id`` under a random key the database keeps in ``secret_keys``), never its id: it
outlives the erasure of the account's citizen (deleting one's data and registering again must
not reset the lock-out) without naming the account. A counter goes with a right code, or
``ATTEMPTS_KEPT`` after the last wrong one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from bot.domain.records import Invitation, Staff
from storage.models import (
    code_attempts,
    declarations,
    invitations,
    secret_keys,
    staff,
    staff_wards,
)
from storage.repositories._base import _insert_or_ignore, _Repo
from storage.repositories._rows import _aware, _invitation, _staff

ATTEMPTS_KEY = "code_attempts"  # the key's name in secret_keys (made by migration 0011)
ATTEMPTS_KEPT = timedelta(days=30)  # a counter without a wrong code for this long is forgotten


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

    async def coordinated(self, wards: Iterable[str]) -> frozenset[str]:
        wanted = sorted(set(wards))
        if not wanted:
            return frozenset()
        query = (
            select(staff_wards.c.ward_code)
            .join(staff, staff.c.id == staff_wards.c.staff_id)
            .where(
                staff_wards.c.ward_code.in_(wanted),
                staff.c.revoked_at.is_(None),
                staff.c.role == "coordinator",
            )
            .distinct()
        )
        return frozenset(str(code) for code in (await self._conn.execute(query)).scalars())

    async def stand_ins(self, ward_code: str) -> Sequence[Staff]:
        members = select(staff_wards.c.staff_id).where(staff_wards.c.ward_code == ward_code)
        return await self._load(
            staff.c.id.in_(members)
            & staff.c.revoked_at.is_(None)
            & (staff.c.role == "officer")
            & staff.c.decides
        )

    async def officers(self, ward_code: str) -> Sequence[Staff]:
        members = select(staff_wards.c.staff_id).where(staff_wards.c.ward_code == ward_code)
        found = await self._load(
            staff.c.id.in_(members) & staff.c.revoked_at.is_(None) & (staff.c.role == "officer")
        )
        return sorted(found, key=lambda member: (len(member.wards), member.id))

    async def lock(self, staff_ids: Collection[int]) -> None:
        if staff_ids:
            query = select(staff.c.id).where(staff.c.id.in_(sorted(staff_ids)))
            await self._conn.execute(query.order_by(staff.c.id).with_for_update())

    async def set_capacity(self, staff_id: int, capacity: int | None) -> bool:
        result = await self._conn.execute(
            update(staff)
            .where(staff.c.id == staff_id, staff.c.revoked_at.is_(None), staff.c.role != "none")
            .values(capacity=capacity)
        )
        return bool(result.rowcount)

    async def set_away(self, staff_id: int, since: datetime | None) -> None:
        await self._conn.execute(
            update(staff).where(staff.c.id == staff_id).values(away_since=since)
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
        decides: bool = False,
        org_id: int | None = None,
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
                    decides=decides,
                    org_id=org_id,
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
                .values(
                    role="admin" if keep else role,
                    revoked_at=None,
                    invited_by=invited_by,
                    decides=decides and not keep,
                    org_id=None if keep else org_id,
                )
            )
            if revoked or existing.role == "none" or (existing.role != role and not keep):
                # a revoked account comes back with the new invitation's wards only, and so does
                # one given another role (a coordinator made an officer: not both at once)
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
            # what it was given and has not decided goes back to its ward's pool at once
            await self._conn.execute(
                update(declarations)
                .where(declarations.c.assigned_to == staff_id, declarations.c.status == "submitted")
                .values(assigned_to=None, assigned_at=None)
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
        decides: bool = False,
        org_id: int | None = None,
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
                decides=decides,
                org_id=org_id,
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

    async def _pseudonym(self, channel: str, external_id: str) -> str:
        """The account as its counter knows it: HMAC-SHA-256 of ``channel:id``, 64 hex digits."""
        key = await self._conn.scalar(
            select(secret_keys.c.value).where(secret_keys.c.name == ATTEMPTS_KEY)
        )
        if key is None:  # a schema made without the migrations: the first use makes the key
            await self._conn.execute(
                _insert_or_ignore(self._conn, secret_keys).values(
                    name=ATTEMPTS_KEY, value=secrets.token_hex(32), created_at=datetime.now(UTC)
                )
            )
            key = await self._conn.scalar(
                select(secret_keys.c.value).where(secret_keys.c.name == ATTEMPTS_KEY)
            )
        account = f"{channel}:{external_id}".encode()
        return hmac.new(bytes.fromhex(str(key)), account, hashlib.sha256).hexdigest()

    async def failures(self, channel: str, external_id: str) -> tuple[int, datetime | None]:
        pseudonym = await self._pseudonym(channel, external_id)
        row = (
            await self._conn.execute(
                select(code_attempts.c.failures, code_attempts.c.locked_until).where(
                    code_attempts.c.channel == channel, code_attempts.c.external_id == pseudonym
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
        pseudonym = await self._pseudonym(channel, external_id)
        where = (code_attempts.c.channel == channel) & (code_attempts.c.external_id == pseudonym)
        await self._conn.execute(delete(code_attempts).where(where))
        if failures:
            await self.forget_attempts(now - ATTEMPTS_KEPT)
            await self._conn.execute(
                insert(code_attempts).values(
                    channel=channel,
                    external_id=pseudonym,
                    failures=failures,
                    locked_until=locked_until,
                    updated_at=now,
                )
            )

    async def forget_attempts(self, older_than: datetime) -> int:
        """Forget the counters whose last wrong code is older than ``older_than`` (a lock lasts
        a day at most, so theirs has ended); the number forgotten."""
        result = await self._conn.execute(
            delete(code_attempts).where(code_attempts.c.updated_at < older_than)
        )
        return int(result.rowcount or 0)

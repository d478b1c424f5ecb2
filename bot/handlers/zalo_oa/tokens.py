"""Each ward's Official Account and its token pair, kept in the store (``channel_state``).

A refresh token is single use: refreshing returns a new pair and the old access token stops
working. So refreshes are serialised per OA (an asyncio lock in the process, a lease across
processes on PostgreSQL), the pair read again once the lock is held (another process may have
refreshed already: then its token is used and no refresh is spent), and the new pair stored
with compare-and-set before it is used. The one window left is a crash between Zalo's answer
and the store's commit: the pair is then lost and the OA must be connected again
(``cdht zalo-oa connect``); it lasts one round trip to the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.engine.ports import Lease
from bot.handlers.zalo_oa.client import Disconnected, OaApi, TokenInvalid, TokenPair, TokenRefused
from bot.services.outbox import Transient

__all__ = ["CHANNEL", "ConnectedOa", "OaTokens", "StateStore"]

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
REFRESH_EARLY = timedelta(minutes=5)  # an access token this close to expiry is refreshed first
REFRESH_LIFE = timedelta(days=90)
LEASE_WAIT = 10.0  # seconds to wait for another process's refresh
T = TypeVar("T")
Versioned = tuple[dict[str, Any], int]  # a value and the version it was read at


class StateRepository(Protocol):
    async def get(self, channel: str, key: str) -> Versioned | None: ...

    async def all(self, channel: str, prefix: str = "") -> dict[str, Versioned]: ...

    async def create(
        self, channel: str, key: str, value: Mapping[str, Any], now: datetime
    ) -> bool: ...

    async def replace(
        self, channel: str, key: str, value: Mapping[str, Any], version: int, now: datetime
    ) -> bool: ...

    async def put(
        self, channel: str, key: str, value: Mapping[str, Any], now: datetime
    ) -> None: ...


class StateUnitOfWork(Protocol):
    @property
    def channel_state(self) -> StateRepository: ...


class StateStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[StateUnitOfWork, bool | None]: ...

    async def try_lease(self, name: str) -> Lease | None: ...


@dataclass(frozen=True, slots=True)
class ConnectedOa:
    oa_id: str
    name: str
    ward_code: str
    expires_at: datetime  # the access token's
    refresh_expires_at: datetime
    connected_at: datetime
    refused_at: datetime | None = None  # Zalo refused its refresh token: connect it again

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> ConnectedOa:
        return cls(
            str(value["oa_id"]),
            str(value.get("name") or ""),
            str(value["ward"]),
            datetime.fromisoformat(value["expires_at"]),
            datetime.fromisoformat(value["refresh_expires_at"]),
            datetime.fromisoformat(value["connected_at"]),
            datetime.fromisoformat(value["refused_at"]) if value.get("refused_at") else None,
        )


def _key(oa_id: str) -> str:
    return f"oa:{oa_id}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OaTokens:
    def __init__(
        self, api: OaApi, store: StateStore, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.api = api
        self._store = store
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    # -- connecting an OA ------------------------------------------------------------------

    async def connect(self, ward_code: str, refresh_token: str) -> ConnectedOa:
        """Refresh once with a token the OA's admin granted, ask Zalo which OA it is, store
        the OA with its ward and its new pair. Connecting an OA again replaces its pair."""
        return await self._connected(ward_code, await self.api.refresh(refresh_token))

    async def connect_code(self, ward_code: str, code: str, verifier: str) -> ConnectedOa:
        """The same from the web console's OAuth v4 PKCE flow (the code an admin granted)."""
        return await self._connected(ward_code, await self.api.exchange_code(code, verifier))

    async def _connected(self, ward_code: str, pair: TokenPair) -> ConnectedOa:
        identity = await self.api.get_oa(pair.access_token)
        now = self._clock()
        value = self._value(
            {"oa_id": identity.oa_id, "name": identity.name, "ward": ward_code,
             "connected_at": now.isoformat()},
            pair, now,
        )  # fmt: skip
        async with self._store.transaction() as uow:
            if not await uow.channel_state.create(CHANNEL, _key(identity.oa_id), value, now):
                found = await uow.channel_state.get(CHANNEL, _key(identity.oa_id))
                version = found[1] if found is not None else 0
                await uow.channel_state.replace(CHANNEL, _key(identity.oa_id), value, version, now)
        return ConnectedOa.of(value)

    @staticmethod
    def _value(base: Mapping[str, Any], pair: TokenPair, now: datetime) -> dict[str, Any]:
        return {
            **base,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_at": (now + timedelta(seconds=pair.expires_in)).isoformat(),
            "refresh_expires_at": (now + REFRESH_LIFE).isoformat(),
        }

    # -- reading ---------------------------------------------------------------------------

    async def all(self) -> list[ConnectedOa]:
        async with self._store.transaction() as uow:
            found = await uow.channel_state.all(CHANNEL, "oa:")
        connected = (ConnectedOa.of(value) for value, _ in found.values())
        return sorted(connected, key=lambda oa: (oa.ward_code, oa.oa_id))

    async def get(self, oa_id: str) -> ConnectedOa | None:
        found = await self._read(oa_id)
        return None if found is None else ConnectedOa.of(found[0])

    async def _read(self, oa_id: str) -> Versioned | None:
        async with self._store.transaction() as uow:
            return await uow.channel_state.get(CHANNEL, _key(oa_id))

    # -- calling with the OA's token -------------------------------------------------------

    async def call(self, oa_id: str, action: Callable[[str], Awaitable[T]]) -> T:
        """Run ``action`` with the OA's access token; refresh first when it is about to
        expire, and once more if Zalo refuses it (then retry once)."""
        found = await self._read(oa_id)
        if found is None:
            raise Transient(f"zalo_oa: OA {oa_id} is not connected")
        value = found[0]
        if value.get("refused_at"):  # never present the spent token again: wait for a connect
            raise Disconnected
        token = str(value["access_token"])
        if datetime.fromisoformat(value["expires_at"]) - REFRESH_EARLY <= self._clock():
            token = await self.refresh(oa_id, token)
        try:
            return await action(token)
        except TokenInvalid:
            token = await self.refresh(oa_id, token)
        try:
            return await action(token)
        except TokenInvalid:
            raise Transient(f"zalo_oa: OA {oa_id}: the new token was refused too") from None

    async def refresh(self, oa_id: str, failed: str) -> str:
        """A working access token in place of ``failed``: refreshed here, or by whoever
        refreshed since ``failed`` was read (no refresh token is spent twice)."""
        lock = self._locks.setdefault(oa_id, asyncio.Lock())
        async with lock:
            lease = await self._lease(oa_id)
            try:
                found = await self._read(oa_id)
                if found is None:
                    raise Transient(f"zalo_oa: OA {oa_id} is not connected")
                value, version = found
                if value["access_token"] != failed:
                    return str(value["access_token"])  # refreshed by someone else already
                if value.get("refused_at"):
                    raise Disconnected
                try:
                    pair = await self.api.refresh(str(value["refresh_token"]))
                except TokenRefused:
                    await self._refused(oa_id, value, version)
                    raise Disconnected from None
                now = self._clock()
                new = self._value(value, pair, now)
                async with self._store.transaction() as uow:
                    stored = await uow.channel_state.replace(
                        CHANNEL, _key(oa_id), new, version, now
                    )
                if not stored:  # cannot happen under the lease; say so if it does
                    log.error("zalo_oa: OA %s: its token pair changed during a refresh", oa_id)
                log.info("zalo_oa: OA %s: token refreshed", oa_id)
                return pair.access_token
            finally:
                await lease.release()

    async def _refused(self, oa_id: str, value: dict[str, Any], version: int) -> None:
        """Zalo refused the refresh token (spent, expired, or its answer lost on the way): the
        OA is marked, its messages wait, and the operators are told once."""
        now = self._clock()
        async with self._store.transaction() as uow:
            marked = {**value, "refused_at": now.isoformat()}
            await uow.channel_state.replace(CHANNEL, _key(oa_id), marked, version, now)
        log.error(
            "zalo_oa: OA %s: Zalo refused its refresh token; its messages wait until it is "
            "connected again (cdht zalo-oa connect, or the web console's page)",
            oa_id,
        )

    async def _lease(self, oa_id: str) -> Lease:
        """The OA's refresh lease (always granted on SQLite: one process)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEASE_WAIT
        while True:
            lease = await self._store.try_lease(f"zalo-oa-refresh:{oa_id}")
            if lease is not None:
                return lease
            if loop.time() >= deadline:
                raise Transient(f"zalo_oa: OA {oa_id}: another process is refreshing")
            await asyncio.sleep(0.1)

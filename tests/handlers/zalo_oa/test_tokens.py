"""A ward's Official Account connected, and its single-use refresh tokens: refreshed once when
the access token expires, never presented twice (also by a second process or after a
restart), on both storage backends, against the fake OA server over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.handlers.zalo_oa.client import Disconnected, OaApi, TokenRefused
from bot.handlers.zalo_oa.tokens import OaTokens
from bot.services.outbox import Transient
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories.store import SqlStore
from tests.fakes.zalo_oa import APP_ID, APP_SECRET, FakeZaloOA

LE_CHAN = "11383"
OA = "4321000000000000001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOA]:
    server = await FakeZaloOA().start()
    server.add_oa(OA, "Phường Lê Chân")
    yield server
    await server.stop()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlStore(engine)
    yield store
    await store.close()


def api_of(fake: FakeZaloOA) -> OaApi:
    return OaApi(APP_ID, APP_SECRET, api_url=fake.url, oauth_url=fake.url, business_url=fake.url)


async def test_connect_refreshes_once_and_stores_the_oa_with_its_ward(
    fake: FakeZaloOA, store: SqlStore
) -> None:
    api = api_of(fake)
    tokens = OaTokens(api, store)
    granted = fake.grant(OA)
    connected = await tokens.connect(LE_CHAN, granted)
    assert (connected.oa_id, connected.name, connected.ward_code) == (OA, "Phường Lê Chân", LE_CHAN)
    assert fake.refreshes == 1
    hours = (connected.expires_at - datetime.now(UTC)).total_seconds() / 3600
    assert 24.9 < hours <= 25  # expires_in came as the string "90000"
    assert [oa.oa_id for oa in await tokens.all()] == [OA]
    # the granted token was spent: connecting with it again is refused by Zalo
    with pytest.raises(TokenRefused):
        await tokens.connect(LE_CHAN, granted)
    assert fake.reused_refresh == 1
    await api.close()


async def test_an_expired_token_is_refreshed_once_and_the_old_refresh_token_never_reused(
    fake: FakeZaloOA, store: SqlStore
) -> None:
    api = api_of(fake)
    tokens = OaTokens(api, store)
    await tokens.connect(LE_CHAN, fake.grant(OA))
    fake.oas[OA].last_interaction["u1"] = fake.clock()
    fake.expire_access(OA)

    def send(text: str) -> Callable[[str], Awaitable[str]]:
        return lambda token: api.send_text(token, "u1", text)

    sent = await asyncio.gather(*(tokens.call(OA, send(f"tin {n}")) for n in range(5)))
    assert all(sent) and sorted(fake.sent("u1")) == [f"tin {n}" for n in range(5)]
    assert fake.refreshes == 2  # connect, then one refresh for five concurrent sends
    # a second process (or this one after a restart) reads the stored pair: no refresh
    restarted = OaTokens(api_of(fake), store)
    fake.oas[OA].last_interaction["u2"] = fake.clock()
    await restarted.call(
        OA, lambda token: restarted.api.send_text(token, "u2", "sau khởi động lại")
    )
    assert fake.refreshes == 2 and fake.reused_refresh == 0
    # expired again: the restarted process refreshes with the stored (new) refresh token
    fake.expire_access(OA)
    await restarted.call(OA, lambda token: restarted.api.send_text(token, "u2", "lần nữa"))
    assert fake.refreshes == 3 and fake.reused_refresh == 0
    # and the first process, holding a token now replaced, follows without spending one
    await tokens.call(OA, lambda token: api.send_text(token, "u1", "vẫn được"))
    assert fake.refreshes == 3 and fake.reused_refresh == 0
    assert fake.sent("u1")[-1] == "vẫn được"
    await api.close()
    await restarted.api.close()


async def test_an_html_error_page_is_a_transient_failure_and_spends_nothing(
    fake: FakeZaloOA, store: SqlStore
) -> None:
    api = api_of(fake)
    tokens = OaTokens(api, store)
    await tokens.connect(LE_CHAN, fake.grant(OA))
    fake.oas[OA].last_interaction["u1"] = fake.clock()
    fake.html_errors = 1
    with pytest.raises(Transient):
        await tokens.call(OA, lambda token: api.send_text(token, "u1", "xin chào"))
    await tokens.call(OA, lambda token: api.send_text(token, "u1", "xin chào"))
    assert fake.sent("u1") == ["xin chào"] and fake.refreshes == 1
    await api.close()


async def test_a_refused_refresh_token_is_never_presented_again_and_messages_wait(
    fake: FakeZaloOA, store: SqlStore
) -> None:
    """Zalo's answer to a refresh was lost (a kill -9, a timeout): the token is spent and the
    new pair never stored. The OA is marked, no message fails for good (``Disconnected`` is a
    postponement the sender does not count), the spent token is not presented again, and
    connecting the OA again makes it work."""
    api = api_of(fake)
    tokens = OaTokens(api, store)
    await tokens.connect(LE_CHAN, fake.grant(OA))
    fake.oas[OA].last_interaction["u1"] = fake.clock()
    fake.expire_access(OA)
    for spent in fake.refresh.values():  # the refresh happened, its answer never arrived
        spent.used = True

    def send(token: str) -> Awaitable[str]:
        return api.send_text(token, "u1", "xin chào")

    with pytest.raises(Disconnected):
        await tokens.call(OA, send)
    assert fake.reused_refresh == 1
    oa = await tokens.get(OA)
    assert oa is not None and oa.refused_at is not None
    with pytest.raises(Disconnected):  # a later message does not spend anything
        await tokens.call(OA, send)
    assert fake.reused_refresh == 1
    await tokens.connect(LE_CHAN, fake.grant(OA))  # the admin connects it again
    await tokens.call(OA, send)
    assert fake.sent("u1") == ["xin chào"]
    reconnected = await tokens.get(OA)
    assert reconnected is not None and reconnected.refused_at is None
    await api.close()

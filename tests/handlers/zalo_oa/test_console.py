"""The web console's page of the wards' Official Accounts, on SQLite and PostgreSQL, against
the fake OA platform over HTTP: an admin connects a ward's OA with the OAuth v4 PKCE flow,
following the redirects as a browser does (console → Zalo's permission page → the callback,
which arrives without the SameSite=Strict session cookie and comes back for it), or with a
refresh token pasted in a form; a coordinator is refused the page; an unknown, reused,
expired or another admin's state is refused and stores nothing; a spent refresh token is
refused with a clear message. And in Chromium, with the console and Zalo on two different
sites: the connect form's redirect to Zalo is not blocked by the page's CSP, and the callback
gets the session back."""

from __future__ import annotations

import asyncio
import html
import importlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page, Route, expect
from pydantic import SecretStr
from yarl import URL

from bot.app import App
from bot.handlers.registry import CHANNELS
from bot.handlers.web import WebServer
from bot.handlers.web_console import WebConsole
from bot.handlers.zalo_oa.tokens import CHANNEL, ConnectedOa
from bot.handlers.zalo_oa.web_console import CALLBACK, PATH, STATE_PREFIX, code_challenge
from bot.services.console import issue_sign_in
from tests.conftest import make_settings, started_app
from tests.fakes.zalo_oa import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZaloOA
from tests.handlers.web_console.conftest import browser, context, free_port, page  # noqa: F401
from tests.handlers.web_console.http_helpers import BASE, Served, csrf, page_text, sign_in
from tests.verification_helpers import coordinator

ADMIN, OTHER_ADMIN = "telegram:900", "telegram:901"
LE_CHAN = "11383"  # Phường Lê Chân
OA, OA_NAME = "4321000000000000001", "Trang Zalo Phường Lê Chân"
REFRESH_LINK = re.compile(r'http-equiv="refresh" content="0; url=([^"]+)"')


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOA]:
    server = await FakeZaloOA().start()
    server.add_oa(OA, OA_NAME)
    yield server
    await server.stop()


def oa_settings(fake: FakeZaloOA) -> dict[str, Any]:
    return {
        "zalo_oa_app_id": APP_ID,
        "zalo_oa_app_secret": SecretStr(APP_SECRET),
        "zalo_oa_secret_key": SecretStr(OA_SECRET_KEY),
        "zalo_oa_api_url": fake.url,
        "zalo_oa_oauth_url": fake.url,
        "zalo_oa_business_url": fake.url,
    }


@asynccontextmanager
async def console(tmp_path: Path, database_url: str, **overrides: Any) -> AsyncIterator[Served]:
    """The web console alone on the bot's web server, under aiohttp's test client."""
    settings = make_settings(
        tmp_path, database_url=database_url, public_base_url=BASE,
        admins=f"{ADMIN},{OTHER_ADMIN}", **overrides,
    )  # fmt: skip
    app = await started_app(settings)
    server = WebServer("127.0.0.1", 0)
    WebConsole(app, server)
    try:
        async with TestClient(TestServer(server.app)) as client:
            yield Served(app, client, server)
    finally:
        await app.close()


async def states(app: App) -> dict[str, dict[str, Any]]:
    """The PKCE states kept in the store, by state."""
    async with app.store.transaction() as uow:
        found = await uow.channel_state.all(CHANNEL, STATE_PREFIX)
    return {key.removeprefix(STATE_PREFIX): value for key, (value, _) in found.items()}


async def connected(app: App) -> list[ConnectedOa]:
    async with app.store.transaction() as uow:
        found = await uow.channel_state.all(CHANNEL, "oa:")
    return [ConnectedOa.of(value) for value, _ in found.values()]


def token_calls(fake: FakeZaloOA) -> int:
    return sum(1 for call in fake.calls if call.path == "token")


async def start_flow(web: Served, ward: str = LE_CHAN) -> URL:
    """The admin picks a ward and presses connect: where the console sends the browser."""
    started = await web.client.post(
        f"{PATH}/connect", data={"csrf": await csrf(web), "ward": ward}, allow_redirects=False
    )
    assert started.status == 303, await started.text()
    return URL(started.headers["Location"])


async def at_zalo(permission: URL) -> URL:
    """The browser on Zalo's permission page (no cookie of the console goes there): the OA's
    admin grants access, and Zalo sends the browser back; where to."""
    async with aiohttp.ClientSession() as browser_at_zalo:
        granted = await browser_at_zalo.get(permission, allow_redirects=False)
    assert granted.status == 302, await granted.text()
    return URL(granted.headers["Location"])


async def returned(web: Served, back: URL) -> str:
    """Zalo's redirect arrives without the session's SameSite=Strict cookie (a navigation from
    another site): the console answers a page that loads the same address again from this
    site, changing nothing; the address it loads."""
    before = await states(web.app)
    async with aiohttp.ClientSession() as cross_site:
        hop = await cross_site.get(web.client.make_url(back.path_qs), allow_redirects=False)
        body = await hop.text()
    assert hop.status == 200, body
    found = REFRESH_LINK.search(body)
    assert found is not None, body
    assert await states(web.app) == before
    return html.unescape(found.group(1))


def test_each_channels_web_console_pages_are_in_its_folder() -> None:
    """The hook the web console mounts pages from: a module of the channel's own folder with
    ``add_pages``, and its templates beside it (here: the OA's page)."""
    with_pages = [channel for channel in CHANNELS if channel.web_console is not None]
    assert [channel.name for channel in with_pages] == ["zalo_oa"]
    for channel in with_pages:
        assert channel.web_console is not None
        module = importlib.import_module(channel.web_console)
        assert module.__name__.startswith(f"bot.handlers.{channel.name}.")
        assert callable(module.add_pages)
        assert module.__file__ is not None
        assert list((Path(module.__file__).parent / "templates").glob("*.html"))


# -- connecting in the browser: OAuth v4 with PKCE --------------------------------------------


async def test_an_admin_connects_a_wards_oa_with_the_pkce_flow(
    tmp_path: Path, database_url: str, fake: FakeZaloOA
) -> None:
    async with console(tmp_path, database_url, **oa_settings(fake)) as web:
        await sign_in(web, ADMIN)
        opened = await web.client.get(PATH)
        body = await opened.text()
        assert opened.status == 200, body
        assert 'href="/console/zalo-oa" aria-current="page"' in body  # the nav link, current
        assert "Chưa có Zalo OA nào được kết nối." in page_text(body)
        # the connect form leads to Zalo's OAuth server: the page's policy lets it
        assert f"form-action 'self' {fake.url};" in opened.headers["Content-Security-Policy"] + ";"

        permission = await start_flow(web)
        assert str(permission).startswith(f"{fake.url}/v4/oa/permission?")
        query = permission.query
        assert query["app_id"] == APP_ID
        assert query["redirect_uri"] == f"{BASE}{CALLBACK}"
        assert query["code_challenge_method"] == "S256"
        kept = await states(web.app)
        assert list(kept) == [query["state"]]
        verifier = kept[query["state"]]["verifier"]
        assert 43 <= len(verifier) <= 128 and re.fullmatch(r"[A-Za-z0-9_-]+", verifier)
        assert query["code_challenge"] == code_challenge(verifier)
        assert verifier not in str(permission)  # kept on the server only
        assert kept[query["state"]]["ward"] == LE_CHAN
        assert kept[query["state"]]["account"] == ADMIN

        back = await at_zalo(permission)
        assert str(back).startswith(f"{BASE}{CALLBACK}?")
        again = await returned(web, back)
        assert again.startswith(f"{CALLBACK}?") and "cdht_returned=1" in again
        done = await web.client.get(again, allow_redirects=False)
        assert done.status == 303, await done.text()
        assert done.headers["Location"] == f"{PATH}?connected={OA}"

        (oa,) = await connected(web.app)
        assert (oa.oa_id, oa.name, oa.ward_code) == (OA, OA_NAME, LE_CHAN)
        assert await states(web.app) == {}  # the state is spent
        (exchange,) = [call.body for call in fake.calls if call.path == "token"]
        assert exchange["grant_type"] == "authorization_code"  # no refresh token spent
        assert exchange["code_verifier"] == verifier
        shown = page_text(await (await web.client.get(done.headers["Location"])).text())
        until = oa.expires_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
        assert (
            f"Đã kết nối {OA_NAME} với Phường Lê Chân. Mã truy cập còn hiệu lực đến {until}"
            in shown
        )
        refresh_until = oa.refresh_expires_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert f"{until} {refresh_until:%d/%m/%Y %H:%M}" in shown  # the row, in Viet Nam's time
        assert "Chưa có Zalo OA nào" not in shown

        # the same address again (a reload, a replay): refused plainly, nothing changes
        calls = token_calls(fake)
        replay = await web.client.get(again)
        assert replay.status == 400
        assert "Lượt kết nối này không hợp lệ" in page_text(await replay.text())
        assert token_calls(fake) == calls
        assert [o.oa_id for o in await connected(web.app)] == [OA]


async def test_a_coordinator_is_refused_the_page_and_its_forms(
    tmp_path: Path, database_url: str, fake: FakeZaloOA
) -> None:
    async with console(tmp_path, database_url, **oa_settings(fake)) as web:
        await coordinator(web.app, "700", wards=(LE_CHAN,), name="Vũ Thị Mai", channel="telegram")
        await sign_in(web, "telegram:700")
        queue = await (await web.client.get("/console/")).text()
        assert "/console/zalo-oa" not in queue  # no link
        token = await csrf(web)
        for method, path, data in (
            ("GET", PATH, None),
            ("POST", f"{PATH}/connect", {"csrf": token, "ward": LE_CHAN}),
            ("POST", f"{PATH}/token", {"csrf": token, "ward": LE_CHAN, "refresh_token": "x"}),
            ("GET", f"{CALLBACK}?code=c&state={'s' * 43}", None),
        ):
            refused = await web.client.request(method, path, data=data, allow_redirects=False)
            assert refused.status == 403, (path, await refused.text())
            text = page_text(await refused.text())
            assert text == "Trang này chỉ dành cho quản trị viên thành phố.", path
        assert await states(web.app) == {} and await connected(web.app) == []
        assert token_calls(fake) == 0

        await sign_in(web, ADMIN)  # the same page for an admin: the link is there
        assert 'href="/console/zalo-oa"' in await (await web.client.get("/console/")).text()


async def test_unknown_reused_expired_or_anothers_states_are_refused_and_store_nothing(
    tmp_path: Path, database_url: str, fake: FakeZaloOA
) -> None:
    async with console(tmp_path, database_url, **oa_settings(fake)) as web:
        await sign_in(web, ADMIN)

        async def refused(address: str, expected: str = "Lượt kết nối này không hợp lệ") -> None:
            answer = await web.client.get(address)
            assert answer.status == 400, await answer.text()
            assert expected in page_text(await answer.text())

        # a forged state, never issued
        await refused(f"{CALLBACK}?code=code-1&state=forged-{'x' * 40}&cdht_returned=1")
        await refused(f"{CALLBACK}?code=code-1&cdht_returned=1")  # none at all

        # an expired one: 10 minutes passed on Zalo's page
        back = await at_zalo(await start_flow(web))
        (state,) = await states(web.app)
        async with web.app.store.transaction() as uow:
            found = await uow.channel_state.get(CHANNEL, STATE_PREFIX + state)
            assert found is not None
            past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
            value, version = {**found[0], "expires_at": past}, found[1]
            now = datetime.now(UTC)
            assert await uow.channel_state.replace(
                CHANNEL, STATE_PREFIX + state, value, version, now
            )
        await refused(await returned(web, back))
        assert await states(web.app) == {}  # taken all the same: it cannot come back

        # another admin's: started by one, brought back in another's session
        back = await at_zalo(await start_flow(web))
        await sign_in(web, OTHER_ADMIN)
        await refused(await returned(web, back))
        await sign_in(web, ADMIN)
        await refused(await returned(web, back))  # and spent by that attempt

        # Zalo came back without a code (the OA's admin did not agree): the state is spent
        await start_flow(web)
        (state,) = await states(web.app)
        await refused(
            f"{CALLBACK}?state={state}&cdht_returned=1", "chưa đồng ý cấp quyền cho ứng dụng"
        )
        await refused(f"{CALLBACK}?state={state}&code=code-1&cdht_returned=1")

        # a state is taken once even by two requests at the same moment
        again = await returned(web, await at_zalo(await start_flow(web)))
        first, second = await _both(web, again)
        assert sorted([first, second]) == [303, 400]

        assert await states(web.app) == {}
        assert token_calls(fake) == 1  # the one exchange that won
        assert [o.oa_id for o in await connected(web.app)] == [OA]


async def _both(web: Served, address: str) -> tuple[int, int]:
    async def get() -> int:
        return (await web.client.get(address, allow_redirects=False)).status

    first, second = await asyncio.gather(get(), get())
    return first, second


async def test_without_the_session_the_callback_comes_back_once_then_is_refused(
    tmp_path: Path, database_url: str, fake: FakeZaloOA
) -> None:
    async with console(tmp_path, database_url, **oa_settings(fake)) as web:
        await sign_in(web, ADMIN)
        back = await at_zalo(await start_flow(web))
        again = await returned(web, back)
        async with aiohttp.ClientSession() as signed_out:  # a browser with no session at all
            answer = await signed_out.get(web.client.make_url(again), allow_redirects=False)
            assert answer.status == 401
        assert len(await states(web.app)) == 1 and await connected(web.app) == []


# -- connecting with a refresh token ---------------------------------------------------------


async def test_a_pasted_refresh_token_connects_and_a_spent_one_is_refused_clearly(
    tmp_path: Path, database_url: str, fake: FakeZaloOA
) -> None:
    async with console(tmp_path, database_url, **oa_settings(fake)) as web:
        await sign_in(web, ADMIN)
        token = await csrf(web)
        granted = fake.grant(OA)
        form = {"csrf": token, "ward": LE_CHAN, "refresh_token": f"  {granted}\n"}
        sent = await web.client.post(f"{PATH}/token", data=form, allow_redirects=False)
        assert sent.status == 303, await sent.text()
        assert sent.headers["Location"] == f"{PATH}?connected={OA}"
        shown = page_text(await (await web.client.get(sent.headers["Location"])).text())
        assert f"Đã kết nối {OA_NAME} với Phường Lê Chân." in shown
        (oa,) = await connected(web.app)
        assert (oa.oa_id, oa.ward_code) == (OA, LE_CHAN) and fake.refreshes == 1
        async with web.app.store.transaction() as uow:
            pair = await uow.channel_state.get(CHANNEL, f"oa:{OA}")

        again = await web.client.post(f"{PATH}/token", data=form)
        body = await again.text()
        assert again.status == 400
        assert (
            "Zalo từ chối mã làm mới này: mã đã được dùng, đã hết hạn hoặc thuộc ứng dụng khác"
            in page_text(body)
        )
        assert granted not in body  # never shown back
        assert fake.reused_refresh == 1
        async with web.app.store.transaction() as uow:
            assert await uow.channel_state.get(CHANNEL, f"oa:{OA}") == pair  # unchanged

        for ward, pasted, expected in (
            (LE_CHAN, "  ", "Dán mã làm mới (refresh token)"),
            ("99999", fake.grant(OA), "Chọn phường/xã của Zalo OA."),
        ):
            data = {"csrf": token, "ward": ward, "refresh_token": pasted}
            answer = await web.client.post(f"{PATH}/token", data=data)
            assert answer.status == 400 and expected in page_text(await answer.text())
        assert fake.refreshes == 1  # neither reached Zalo


async def test_the_page_says_when_the_zalo_app_is_not_configured(
    tmp_path: Path, database_url: str
) -> None:
    async with console(tmp_path, database_url) as web:
        await sign_in(web, ADMIN)
        opened = await web.client.get(PATH)
        assert opened.status == 200
        assert "Ứng dụng Zalo chưa được cấu hình" in page_text(await opened.text())
        assert "form-action 'self';" in opened.headers["Content-Security-Policy"] + ";"
        data = {"csrf": await csrf(web), "ward": LE_CHAN}
        answer = await web.client.post(f"{PATH}/connect", data=data, allow_redirects=False)
        assert answer.status == 400 and await states(web.app) == {}


# -- in Chromium, the console and Zalo on two sites ------------------------------------------


async def test_in_a_browser_the_redirects_pass_the_policy_and_the_callback_is_signed_in(
    tmp_path: Path,
    fake: FakeZaloOA,
    page: Page,  # noqa: F811
) -> None:
    """The console on ``localhost``, Zalo on ``127.0.0.1``: two sites. Chromium applies the
    page's ``form-action`` to the redirect to Zalo; and as on Zalo's real page, the OA's admin
    agrees with a click there (a navigation that starts on Zalo's site), so the browser leaves
    the SameSite=Strict cookie out of Zalo's redirect back."""
    port = free_port()
    settings = make_settings(
        tmp_path, public_base_url=f"http://localhost:{port}", admins=ADMIN, **oa_settings(fake)
    )
    app = await started_app(settings)
    server = WebServer("127.0.0.1", port)
    WebConsole(app, server)
    try:
        async with TestServer(server.app, host="127.0.0.1", port=port):
            async with app.store.transaction() as uow:
                link = await issue_sign_in(uow, ADMIN, datetime.now(UTC))
            await page.goto(f"http://localhost:{port}/console/signin/{link}")
            await page.locator("#signin").click()
            await page.get_by_role("link", name="Zalo OA").click()
            await expect(page.locator("h1")).to_have_text("Zalo OA của các phường/xã")
            await page.route(f"**{PATH}/connect", lambda route: consent(route, fake))
            await page.locator("#connect-ward").select_option(LE_CHAN)
            await page.locator("#connect").click()
            await page.get_by_role("link", name="Cho phép").click()
            await page.wait_for_url(f"**{PATH}?connected={OA}")
            await expect(page.locator("#note")).to_contain_text(
                f"Đã kết nối {OA_NAME} với Phường Lê Chân."
            )
            await expect(page.locator(f"#oa-{OA}")).to_contain_text("Phường Lê Chân")
    finally:
        await app.close()


async def consent(route: Route, fake: FakeZaloOA) -> None:
    """Zalo's permission page as an OA's admin sees it, with a link to agree: the fake grants
    at once, so the console's redirect is sent to a page of the fake's site first, whose link
    goes on to the permission page (a navigation that starts on Zalo's site)."""
    answer = await route.fetch(max_redirects=0)
    permission = answer.headers["location"]
    assert permission.startswith(f"{fake.url}/v4/oa/permission?"), permission
    body = f'<!doctype html><meta charset="utf-8"><a href="{html.escape(permission)}">Cho phép</a>'
    page_at_zalo = fake.host_file("permission.html", body.encode(), "text/html")
    await route.fulfill(status=303, headers={"Location": page_at_zalo})

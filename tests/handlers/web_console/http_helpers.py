"""The staff's web console over HTTP, without a browser: the bot's one web server (as ``cdht
run`` builds it: the channels' webhooks, the signed evidence links, the console) under aiohttp's
test client, on the database a test names (SQLite or PostgreSQL)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import App
from bot.handlers import configured_channels
from bot.handlers.web import Handler, WebServer
from bot.services.console import issue_sign_in
from tests.conftest import make_settings, started_app

BASE = "http://cdht.test"  # the public address the console's links name (no HTTPS: no Secure)
WEBHOOK = "/telegram/hook"
WEBHOOK_SECRET = "webhook-secret-18"
Client = TestClient[web.Request, web.Application]


@dataclass
class Served:
    app: App
    client: Client
    server: WebServer


@asynccontextmanager
async def served(
    tmp_path: Path,
    database_url: str,
    admins: str = "",
    routes: Sequence[tuple[str, str, Handler]] = (),
    **overrides: Any,
) -> AsyncIterator[Served]:
    """The app on ``database_url`` and its web server, with Telegram configured for a webhook
    (its Bot API is never called: nothing runs the channel), and the test's own ``routes``."""
    settings = make_settings(
        tmp_path, database_url=database_url, public_base_url=BASE, admins=admins,
        telegram_token=SecretStr("123456:test-token"), telegram_api_url="http://127.0.0.1:9",
        telegram_webhook_url=f"{BASE}{WEBHOOK}",
        telegram_webhook_secret=SecretStr(WEBHOOK_SECRET), **overrides,
    )  # fmt: skip
    app = await started_app(settings)
    server = WebServer("127.0.0.1", 0)
    channels = configured_channels(app, server)
    for method, path, handler in routes:
        server.add(method, path, handler)
    try:
        async with TestClient(TestServer(server.app)) as client:
            yield Served(app, client, server)
    finally:
        for channel in channels:
            await channel.api.close()  # type: ignore[attr-defined]
        await app.close()


async def sign_in(served: Served, account: str) -> None:
    """What ``/web`` in the chat gives (``issue_sign_in``), opened and its button pressed: the
    client holds the session's cookie afterwards."""
    async with served.app.store.transaction() as uow:
        token = await issue_sign_in(uow, account, datetime.now(UTC))
    response = await served.client.post(f"/console/signin/{token}", allow_redirects=False)
    assert response.status == 303, await response.text()


async def csrf(served: Served) -> str:
    """The signed-in session's form token, as its pages carry it."""
    body = await (await served.client.get("/console/")).text()
    found = re.search(r'name="csrf" value="([^"]+)"', body)
    assert found is not None, body
    return found.group(1)


def page_text(body: str) -> str:
    """What a reader sees of a page: its main part without tags, white space as single
    spaces."""
    main = body.split("<main", 1)[-1].partition(">")[2]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())

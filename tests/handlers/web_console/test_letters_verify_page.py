"""The letter's public verification page (/v/<token>), fetched as anyone who scans the QR code
does: it claims no more than the letter, i.e. verified by the ward's association and proposed
for recognition, not awarded; and it says the letter does not replace the recognition
decision. Served by the bot's own web server (aiohttp's test client: no port, no browser)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.flows.common import local_date
from bot.handlers.web import WebServer
from bot.handlers.web_console import WebConsole
from tests.conftest import make_settings, started_app
from tests.services.test_letters_chat import PASSING, approved, delivered

BASE = "https://cdht.example.vn"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[App, Client]]:
    app = await started_app(make_settings(tmp_path, public_base_url=BASE))
    server = WebServer("127.0.0.1", 0)
    WebConsole(app, server)
    async with TestClient(TestServer(server.app)) as client:
        yield app, client
    await app.close()


def page_text(body: str) -> str:
    """What a reader sees: the main part without tags, white space as single spaces."""
    main = body.split("<main", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


async def test_the_verification_page_says_verified_and_proposed_not_awarded(
    served: tuple[App, Client],
) -> None:
    app, client = served
    citizen = await approved(app, PASSING)
    await citizen.send("/giayxacnhan")
    await delivered(app, citizen.user)
    (url,) = [w for w in citizen.text.split() if w.startswith(f"{BASE}/v/")]
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    assert declaration.decided_at is not None

    response = await client.get(url.removeprefix(BASE))
    assert response.status == 200
    text = page_text(await response.text())
    assert "Còn hiệu lực" in text
    assert "Nguyễn Thị Hồng Nhung" in text and "Phường Lê Chân" in text
    assert (
        f"Bản tự đánh giá năm {declaration.year} của công dân đã được Hội Khuyến học phường "
        f"Lê Chân xác nhận ngày {local_date(declaration.decided_at)}, đề nghị công nhận danh "
        "hiệu «Công dân học tập»." in text
    )
    assert (
        "Giấy xác nhận này không thay thế quyết định công nhận danh hiệu của cơ quan có thẩm "
        "quyền." in text
    )
    assert "đạt danh hiệu" not in text and "đã được công nhận" not in text

    english = page_text(await (await client.get(url.removeprefix(BASE) + "?lang=en")).text())
    assert (
        f"The citizen's {declaration.year} self-assessment was verified by the Study Promotion "
        "Association of Phường Lê Chân on" in english
    )
    assert "proposed for recognition as a «Learning Citizen»" in english


async def test_a_token_that_does_not_verify_says_so_and_nothing_else(
    served: tuple[App, Client],
) -> None:
    _, client = served
    response = await client.get("/v/1.0123456789abcdef01234567")
    text = page_text(await response.text())
    assert "KHÔNG còn hiệu lực" in text
    assert "đề nghị công nhận" not in text

"""A real browser (Debian's Chromium driven by Playwright for Python) against the bot's web
server on 127.0.0.1, with the fake Telegram Bot API as the staff's and citizens' chat.

Playwright's own browser download cannot be reached here: the system's Chromium is launched
with ``executable_path`` (https://playwright.dev/python/docs/api/class-browsertype#browser-type-
launch-option-executable-path) and the flags that keep it off the network. Without Chromium the
tests are skipped, unless ``CDHT_REQUIRE_BROWSER`` is set (``.ci/run`` sets it and installs
the package), when they fail. A failing test leaves a screenshot in ``test-screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bot.config import Settings
from tests.bots import Running, start_bot
from tests.fakes.telegram_api import FakeTelegram

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-screenshots"
FLAGS = [
    "--no-sandbox",  # root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        if os.environ.get("CDHT_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (CDHT_REQUIRE_BROWSER) and not installed")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    yield made
    await made.close()


@pytest.fixture
async def page(context: BrowserContext, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    opened = await context.new_page()
    yield opened
    failed: Any = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        await opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


@pytest.fixture
async def console_bot(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Running]:
    port = free_port()
    running = await start_bot(
        settings,
        fake,
        webhook_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        telegram_backend="ptb",
    )
    yield running
    await running.shutdown()

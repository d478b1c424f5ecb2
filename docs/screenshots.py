"""The README's screenshots of the web console (queue and dashboard), taken in Chromium.

    .venv/bin/python docs/screenshots.py

Seeds a temporary database (the report tests' citizens and three submitted declarations),
starts the web server on a free port, signs a configured admin in with a one-time link and
saves ``docs/console-queue.png`` and ``docs/console-dashboard.png``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright

from bot.config import Settings
from bot.services.console import issue_sign_in
from tests.bots import start_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.flows.test_reports import person, seed
from tests.handlers.web_console.conftest import CHROMIUM, FLAGS, free_port


async def main() -> None:
    fake = await FakeTelegram().start()
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None, data_dir=Path(folder), admins="telegram:1", campaign_year=2026
        )
        bot = await start_bot(
            settings, fake, webhook_port=port, public_base_url=f"http://127.0.0.1:{port}"
        )
        now = datetime.now(UTC)
        async with bot.app.store.transaction() as uow:
            await seed(uow)
            for n, (name, ward) in enumerate(
                [("Đỗ Thị Hương", "11383"), ("Lương Văn Tài", "11329"), ("Mai Thu Trang", "11407")]
            ):
                citizen = await uow.citizens.create(person(name, ward), now)
                declaration = await uow.declarations.create(citizen.id, 2026, "qd324-2023", now)
                for indicator in range(1, 11):
                    await uow.declarations.set_score(declaration.id, indicator, 8 + n % 2, now)
                await uow.declarations.update(
                    declaration.id, now, status="submitted",
                    submitted_at=now - timedelta(days=3 + 4 * n),
                )  # fmt: skip
            token = await issue_sign_in(uow, "telegram:1", now)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page(viewport={"width": 1200, "height": 760})
            await page.goto(f"http://127.0.0.1:{port}/console/signin/{token}")
            async with page.expect_navigation():
                await page.locator("#signin").click()
            await page.screenshot(path=str(ROOT / "docs" / "console-queue.png"))
            await page.goto(f"http://127.0.0.1:{port}/console/dashboard?year=2026")
            await page.screenshot(path=str(ROOT / "docs" / "console-dashboard.png"))
            await browser.close()
        await bot.shutdown()
    await fake.stop()
    print("docs/console-queue.png, docs/console-dashboard.png")


if __name__ == "__main__":
    asyncio.run(main())

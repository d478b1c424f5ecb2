"""Files through Telegram (both client libraries, both backends): a document's name is cleaned
like any text (a NUL in it made PostgreSQL refuse the evidence record, and the citizen got the
system-error reply); a file the bot made for one delivery (``/mydata``'s JSON) is gone from the
data folder once Telegram has it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import App
from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.telegram.conftest import start_bot
from tests.handlers.telegram.test_telegram_declaration import PDF, USER, register

Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


def kept_naming(app: App, name: str) -> list[str]:
    """The files under the data folder, but the database's, whose bytes hold ``name``."""
    database = Path(app.store.engine.url.database or "").name
    return [
        path.name
        for path in app.settings.data_dir.rglob("*")
        if path.is_file()
        and not (database and path.name.startswith(database))
        and name.encode() in path.read_bytes()
    ]


async def test_a_nul_in_a_document_name_is_cleaned_like_other_text(
    settings: Settings, fake: FakeTelegram, converse: Converse, database_url: str
) -> None:
    bot = await start_bot(settings, fake, database_url=database_url)
    try:
        await register(fake, converse)
        await converse(USER, lambda: fake.send_text(USER, "/declare"), "khoảng 10 phút")
        await converse(USER, lambda: fake.press(USER, "Bắt đầu"), "Chỉ số 1/10")
        await converse(USER, lambda: fake.press(USER, "9"), "Minh chứng cho chỉ số 1")
        told = await converse(
            USER,
            lambda: fake.send_document(USER, "doc-nul", PDF, "application/pdf", "plan\x00.pdf"),
            "Đã nhận tệp (1/5)",
        )
        assert "lỗi" not in told.lower()
        async with bot.app.store.transaction() as uow:
            (declaration,) = await uow.declarations.list()
            (evidence,) = await uow.declarations.evidence(declaration.id)
        assert evidence.original_name == "plan.pdf"
        assert bot.app.evidence.path(evidence.sha256).read_bytes() == PDF
    finally:
        await bot.shutdown()


async def test_the_mydata_file_is_gone_once_telegram_has_it(
    settings: Settings, fake: FakeTelegram, converse: Converse, database_url: str
) -> None:
    bot = await start_bot(settings, fake, database_url=database_url)
    try:
        await register(fake, converse)
        await converse(USER, lambda: fake.send_text(USER, "/mydata"), "Tệp JSON đầy đủ")
        await fake.wait_for(lambda: bool(fake.calls_of("sendDocument")))
        (document,) = fake.calls_of("sendDocument")
        assert int(document["chat_id"]) == USER
        assert json.loads(fake.uploads[-1])["profile"]["full_name"] == "Phan Bội Châu"
        for _ in range(200):  # removed right after the sender records the delivery
            if not kept_naming(bot.app, "Phan Bội Châu"):
                break
            await asyncio.sleep(0.05)
        assert kept_naming(bot.app, "Phan Bội Châu") == []
    finally:
        await bot.shutdown()

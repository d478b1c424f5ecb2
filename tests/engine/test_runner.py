"""Engine guarantees: duplicates handled once, one transaction per update, restarts resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.config import Settings
from bot.domain.wards import WardDirectory
from bot.engine.ports import StorageUnavailable
from tests.chat import Chat, agree, answer_until
from tests.conftest import started_app


async def conversation_step(app: App, user: str = "1001") -> str | None:
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", user)
        conversation = await uow.conversations.get(identity.id) if identity else None
    return conversation.step if conversation else None


async def test_the_same_update_twice_is_handled_once(any_app: App) -> None:
    chat = Chat(any_app.engine)
    await chat.send("/start")
    await agree(chat)
    await chat.press("g1")
    first = await chat.send("Ngô Bảo Châu", update_id="tg-555")
    assert first.replies
    again = await chat.send("Ngô Bảo Châu", update_id="tg-555")
    assert again.duplicate and not again.replies
    assert await conversation_step(any_app) == "birth_year"


async def test_a_crash_mid_update_loses_nothing(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "ward", full_name="Bùi Thị Xuân")

    def broken(self: WardDirectory, query: str, limit: int = 6) -> list[object]:
        raise RuntimeError("disk on fire: Bùi Thị Xuân")

    monkeypatch.setattr(WardDirectory, "search", broken)
    await chat.send("le chan", update_id="u-crash")
    chat.expect("gặp lỗi", "gửi lại")
    assert await conversation_step(app) == "ward"
    monkeypatch.undo()
    # the failed update was rolled back, then consumed with the apology: delivered again (a
    # webhook retry, a replay after a restart) it does not fail again and again
    again = await chat.send("le chan", update_id="u-crash")
    assert again.duplicate
    # what the person sends again is a new update, and it works
    await chat.send("le chan", update_id="u-resent")
    assert "Phường Lê Chân" in chat.choice_labels
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None
    assert conversation.values["full_name"] == "Bùi Thị Xuân"


async def test_errors_are_logged_without_personal_data(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await agree(chat)
    await chat.press("g1")

    def broken(text: str) -> str:
        raise ValueError(f"cannot handle {text}")

    monkeypatch.setattr("bot.flows.registration.validate_full_name", broken)
    await chat.send("Đinh Bộ Lĩnh")
    chat.expect("gặp lỗi")
    assert "ValueError" in caplog.text
    assert "Đinh Bộ Lĩnh" not in caplog.text


async def test_restart_resumes_at_the_same_step(settings: Settings) -> None:
    first = await started_app(settings)
    chat = Chat(first.engine)
    await chat.send("/start")
    await agree(chat)
    await chat.press("g1")
    await chat.send("Lý Thường Kiệt")
    await first.close()

    second = await started_app(settings)
    try:
        chat = Chat(second.engine)
        await chat.send("/start")
        chat.expect("Tiếp tục từ chỗ", "năm sinh")
        await chat.send("1950")
        chat.expect("Giới tính")
    finally:
        await second.close()


async def test_parallel_users_on_one_database(app: App) -> None:
    chats = [Chat(app.engine, user=str(2000 + n)) for n in range(12)]

    async def register_partly(chat: Chat) -> None:
        await chat.send("/start")
        await agree(chat)
        await chat.press("g2")
        await chat.send("Trần Hưng Đạo")

    await asyncio.gather(*(register_partly(chat) for chat in chats))
    for chat in chats:
        assert await conversation_step(app, chat.user) == "birth_year"


def test_fixture_paths_are_isolated(tmp_path: Path, settings: Settings) -> None:
    assert settings.effective_database_url.endswith(f"{tmp_path}/cdht.sqlite3")


async def test_a_conversation_saved_at_a_step_that_no_longer_exists_starts_afresh(
    app: App,
) -> None:
    from dataclasses import replace

    chat = Chat(app.engine)
    await chat.send("/start")
    await agree(chat)
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
        assert conversation is not None
        await uow.conversations.save(replace(conversation, step="renamed_in_a_later_release"))
    await chat.send("hello")
    chat.expect("Công dân học tập", choices=["adult", "minor"])


async def test_an_unavailable_database_answers_retry_and_changes_nothing(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "full_name")
    real = type(app.store).transaction
    calls = {"n": 0}

    @asynccontextmanager
    async def flaky(self: Any) -> AsyncIterator[Any]:
        calls["n"] += 1
        raise StorageUnavailable("OperationalError")
        yield  # pragma: no cover

    app.store.transaction = flaky.__get__(app.store)  # type: ignore[method-assign]
    result = await chat.send("Trần Hưng Đạo", update_id="u-wait")
    assert result.retry and not result.replies and calls["n"] >= 1
    app.store.transaction = real.__get__(app.store)  # type: ignore[method-assign]
    assert await conversation_step(app) == "full_name"
    again = await chat.send("Trần Hưng Đạo", update_id="u-wait")  # the same update, later
    assert not again.duplicate
    chat.expect("Xin cho biết năm sinh")

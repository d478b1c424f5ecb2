"""Inputs that cost nothing to send: control characters, invisible names, huge ward queries.
Each gets a plain answer, stores nothing, and leaves the conversation able to go on."""

from __future__ import annotations

import difflib

import pytest

from bot.app import App
from bot.domain.wards import MAX_QUERY, WardDirectory
from tests.chat import Chat, answer_until


async def step(app: App, user: str = "1001") -> str | None:
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", user)
        conversation = await uow.conversations.get(identity.id) if identity else None
    return conversation.step if conversation else None


@pytest.mark.parametrize("bad", ["Tổ 5\x00", "Tổ\x075", "Tổ 5\x1b[2J", "Tổ \ud800 5"])
async def test_control_characters_are_refused_everywhere_on_both_backends(
    any_app: App, bad: str
) -> None:
    chat = Chat(any_app.engine)
    await answer_until(chat, "residential_group")
    await chat.send(bad)
    chat.expect("ký tự điều khiển", "tổ dân phố")
    assert await step(any_app) == "residential_group"
    await chat.send(f"/language {bad}")  # in a command's arguments as well
    chat.expect("ký tự điều khiển")
    await chat.send("Tổ dân phố số 5")  # and the citizen goes on, on PostgreSQL too
    chat.expect("Vui lòng kiểm tra lại thông tin")
    await chat.press("confirm")
    chat.expect("đăng ký thành công")
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("8")
    await chat.send("Đọc báo\x00 mỗi ngày")  # an evidence note
    chat.expect("ký tự điều khiển", "Minh chứng cho chỉ số 1")
    async with any_app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        answers = await uow.declarations.answers(declaration.id)
    assert answers[1].note is None


@pytest.mark.parametrize(
    "name", ["ㅤㅤㅤ", "\u200b\u200b\u200b", "\u2800\u2800", "\u115f\u1160", "\u00ad\u200d\u2060"]
)
async def test_names_made_only_of_invisible_characters_are_refused(app: App, name: str) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "full_name")
    await chat.send(name)
    chat.expect("Xin cho biết họ và tên")
    assert await step(app) == "full_name"
    await chat.send("Lý\u200b Thường Kiệt")  # a zero-width space inside is dropped
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None
    assert conversation.values["full_name"] == "Lý Thường Kiệt"


async def test_an_invisible_evidence_note_is_not_a_note(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, None)
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("8")
    await chat.send("ㅤ \u200b ㅤ")
    chat.expect("Minh chứng cho chỉ số 1")
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        assert (await uow.declarations.answers(declaration.id))[1].note is None


async def test_a_thousand_character_ward_query_is_refused_before_any_matching(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    lengths: list[int] = []
    real = difflib.SequenceMatcher

    def counting(isjunk: None = None, a: str = "", b: str = "") -> difflib.SequenceMatcher[str]:
        lengths.append(len(a))
        return real(isjunk, a, b)

    monkeypatch.setattr("bot.domain.wards.SequenceMatcher", counting)
    chat = Chat(app.engine)
    await answer_until(chat, "ward")
    await chat.send("phường lê chân " * 60)  # 900 characters, under the engine's 1,000
    chat.expect("dài quá 60 ký tự", "Sống ở phường/xã")
    assert lengths == []  # refused before matching
    directory = WardDirectory.from_package(31)
    assert directory.search("x" * 1000) == []  # the CLI's search, on the first 60 only
    assert directory.search("phuong le chna" + " " * 1000)[0].name == "Phường Lê Chân"
    assert lengths  # a typo is matched fuzzily …
    assert max(lengths) <= MAX_QUERY  # … on the first 60 characters at most

"""`cdht coordinator revoke ID` is the chat's /revoke: the same refusals in the same words,
and the account is told through the outbox."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import build_app
from bot.config import load_settings
from bot.i18n import Translator
from tests.chat import Chat
from tests.verification_helpers import RecordingDeliverer, sender

vi = Translator("vi")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CDHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    return tmp_path


def a_coordinator(user: str, capsys: pytest.CaptureFixture[str], channel: str = "test") -> None:
    """Invited on the command line, the code redeemed in the chat."""
    assert main(["coordinator", "invite", "--ward", "11383"]) == 0
    code = capsys.readouterr().out.strip()

    async def redeem() -> None:
        app = build_app(load_settings())
        try:
            chat = Chat(app.engine, user=user, channel=channel)
            await chat.send(f"/coordinator {code}")
            chat.expect("Phường Lê Chân")
        finally:
            await app.close()

    asyncio.run(redeem())


def told(user: str, channel: str = "test") -> list[str]:
    """What the outbox sends the account ``channel:user`` when the sender runs."""

    async def run() -> list[str]:
        app = build_app(load_settings())
        try:
            deliverer = RecordingDeliverer(channel)
            await sender(app, deliverer).flush()
            return [message.text for message in deliverer.to(user)]
        finally:
            await app.close()

    return asyncio.run(run())


def test_a_revoked_coordinator_is_told_and_revoking_twice_says_already(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_coordinator("77", capsys)
    assert main(["coordinator", "revoke", "1"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Đã thu hồi quyền của #1") and out.count("\n") == 1, out
    assert told("77") == [vi("vi", "note.revoked")]  # the chat's message, through the outbox

    assert main(["coordinator", "revoke", "1"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", vi("vi", "staff.revoke.already", id=1) + "\n")
    assert told("77") == []  # told once

    assert main(["coordinator", "revoke", "1", "--locale", "en"]) == 1
    assert capsys.readouterr().err == "Account #1 was already revoked.\n"
    assert main(["coordinator", "revoke", "999"]) == 1
    assert capsys.readouterr().err == (
        "Không có cán bộ số #999. Xem danh sách: cdht coordinator list\n"
    )


def test_a_configured_admin_is_refused_with_the_chats_words(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A coordinator later named in CDHT_ADMINS: neither the chat's /revoke (by another
    admin) nor the command line takes the role away, and both say why in the same words."""
    a_coordinator("88", capsys, channel="console")  # CDHT_ADMINS names real channels
    monkeypatch.setenv("CDHT_ADMINS", "console:88,console:boss")

    async def in_the_chat() -> str:
        app = build_app(load_settings())
        try:
            boss = Chat(app.engine, user="boss", channel="console")
            await boss.send("/revoke 1")
            return boss.text
        finally:
            await app.close()

    chat_said = asyncio.run(in_the_chat())
    assert main(["coordinator", "revoke", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == chat_said + "\n"
    assert "quản trị viên" in err  # the chat's refusal: an admin by configuration
    assert main(["coordinator", "list"]) == 0
    assert "1\tcoordinator\tactive" not in capsys.readouterr().out  # listed as configured
    assert told("88", "console") == []

"""`cdht coordinator revoke ID` is the chat's /revoke: the same refusals in the same words
(an account from CDHT_ADMINS, an unknown number, one already revoked), exit 1 on a refusal,
and on success the account is told through the outbox and the reviews it held go back to the
queue. On SQLite, and on PostgreSQL when ``CDHT_TEST_POSTGRES_URL`` is set."""

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
from tests.conftest import POSTGRES_URL, reset_postgres
from tests.verification_helpers import RecordingDeliverer, declaration_id, sender, submitted

vi = Translator("vi")


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CDHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("CDHT_TEST_POSTGRES_URL is not set")
        asyncio.run(reset_postgres(POSTGRES_URL))
        monkeypatch.setenv("CDHT_DATABASE_URL", POSTGRES_URL)
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


def test_the_reviews_the_account_held_go_back_to_the_queue(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the chat's answer promises («the reviews they held are back in the queue») is
    true of the command line's revocation too, and the account can no longer review."""
    a_coordinator("77", capsys)

    async def claimed() -> int:
        app = build_app(load_settings())
        try:
            await submitted(app, "citizen")
            number = await declaration_id(app)
            coordinator = Chat(app.engine, user="77")
            await coordinator.send(f"/review {number}")
            coordinator.expect(f"Hồ sơ #{number}")
            async with app.store.transaction() as uow:
                held = await uow.declarations.get(number)
            assert held is not None and held.claimed_by == 1
            return number
        finally:
            await app.close()

    number = asyncio.run(claimed())
    assert main(["coordinator", "revoke", "1", "--locale", "en"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Revoked #1 ") and "are back in the queue" in out, out
    assert err == ""

    async def after() -> tuple[int | None, str]:
        app = build_app(load_settings())
        try:
            async with app.store.transaction() as uow:
                found = await uow.declarations.get(number)
            assert found is not None
            coordinator = Chat(app.engine, user="77")
            await coordinator.send("/queue")
            return found.claimed_by, coordinator.text
        finally:
            await app.close()

    claimed_by, queue = asyncio.run(after())
    assert claimed_by is None  # back in the queue
    assert "chỉ dành cho cán bộ" in queue
    assert told("77")[1:] == [vi("vi", "note.revoked")]  # after the new declaration's notice


def test_an_invited_admin_is_revoked_and_told(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coordinator", "invite", "--admin"]) == 0
    code = capsys.readouterr().out.strip()

    async def redeem() -> None:
        app = build_app(load_settings())
        try:
            await Chat(app.engine, user="55").send(f"/coordinator {code}")
        finally:
            await app.close()

    asyncio.run(redeem())
    assert main(["coordinator", "list"]) == 0
    assert capsys.readouterr().out.startswith("1\tadmin\tactive\ttest:55\t")
    assert main(["coordinator", "revoke", "1"]) == 0
    assert capsys.readouterr().out.startswith("Đã thu hồi quyền của #1")
    assert told("55") == [vi("vi", "note.revoked")]
    assert main(["coordinator", "list"]) == 0
    assert capsys.readouterr().out.startswith("1\tadmin\trevoked\ttest:55\t")


def test_a_configured_admins_own_record_is_no_staff_account_to_revoke(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured admin who took a review has a record that grants nothing (role
    ``none``): as in the chat, there is no staff account of that number; nothing is sent."""
    monkeypatch.setenv("CDHT_ADMINS", "console:boss")

    async def a_review_taken() -> int:
        app = build_app(load_settings())
        try:
            await app.migrate()  # no command has run yet
            await submitted(app, "citizen")
            boss = Chat(app.engine, user="boss", channel="console")
            await boss.send(f"/review {await declaration_id(app)}")
            await boss.send("/cancel")
            async with app.store.transaction() as uow:
                record = await uow.staff.by_account("console", "boss")
            assert record is not None and record.role == "none"
            return record.id
        finally:
            await app.close()

    number = asyncio.run(a_review_taken())
    assert main(["coordinator", "revoke", str(number)]) == 1
    assert capsys.readouterr() == (
        "",
        f"Không có cán bộ số #{number}. Xem danh sách: cdht coordinator list\n",
    )
    assert main(["coordinator", "revoke", str(number), "--locale", "en"]) == 1
    assert capsys.readouterr().err == (
        f"There is no staff account #{number}. See the list: cdht coordinator list\n"
    )
    assert vi("vi", "note.revoked") not in told("boss", "console")  # told of the declaration only


def test_refusals_are_said_in_the_language_asked_for(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_coordinator("88", capsys, channel="console")
    monkeypatch.setenv("CDHT_ADMINS", "console:88")
    assert main(["coordinator", "revoke", "1", "--locale", "en"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "is an admin set in the server's configuration" in err, err
    assert "console:88" not in err and "CDHT_" not in err  # the person as officials read them
    assert err.count("\n") == 1
    monkeypatch.setenv("CDHT_DEFAULT_LOCALE", "en")  # the bot's language, without --locale
    assert main(["coordinator", "revoke", "1"]) == 1
    assert capsys.readouterr().err == err
    assert told("88", "console") == []

"""A role is one row of the permissions table plus its texts: a row added to ``ROLES`` (here
«reader», who sees the report of their own wards and nothing else, labelled with a text the
catalog has) is invitable on every surface with no other edit: the chat's ``/invite``, the web
console's invitation form and ``cdht coordinator invite --role``, each storing an invitation
for that role and its wards, in the table's order after the roles there before."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import App, build_app
from bot.domain import permissions
from bot.domain.permissions import Action, RoleRow, Scope, allowed
from bot.domain.records import Invitation
from bot.domain.usecases.roles import hash_code, role_of
from bot.engine import t
from tests.chat import Chat
from tests.conftest import make_settings, started_app
from tests.handlers.web_console.http_helpers import csrf, page_text, served, sign_in

OFFICER = "reader"  # a row no release has: not the table's own officer
# the report of their own wards, nothing else; «Cán bộ duyệt» names them (a catalog text)
ROW = RoleRow({Action.REPORT: Scope.WARDS}, t("xlsx.col.decided_by"), t("staff.home"))
LABEL = "Cán bộ duyệt"
LE_CHAN, HONG_BANG = "11383", "11311"
ADMIN = "telegram:900"


@pytest.fixture
def officer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table with one more row, after the others (a dict keeps its order)."""
    monkeypatch.setitem(permissions.ROLES, OFFICER, ROW)


async def stored(app: App, code: str) -> Invitation:
    async with app.store.transaction() as uow:
        found = await uow.staff.invitation(hash_code(code))
    assert found is not None
    return found


def code_in(text: str) -> str:
    found = re.search(r"[A-Z2-9]{5}-[A-Z2-9]{5}", text)
    assert found is not None, text
    return found.group(0)


async def test_the_chat_invites_to_a_row_added_to_the_table(officer: None, tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:boss"))
    try:
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/invite")  # the usual words, then the table's other roles
        boss.expect("/invite Lê Chân", "/invite admin", "/invite reader", LABEL)
        await boss.send("/invite Reader kien")  # a role word as typed words: any case
        assert "Phường Kiến An" in boss.choice_labels
        assert all(choice.startswith("/invite reader ") for choice in boss.choice_ids)
        await boss.press("Phường Kiến An")
        boss.expect(f"Mã mời {LABEL}, phụ trách Phường Kiến An", "/coordinator")
        kien_an = app.wards.exact("Phường Kiến An")
        assert kien_an is not None
        invitation = await stored(app, code_in(boss.text))
        assert (invitation.role, invitation.wards) == (OFFICER, (kien_an.code,))

        await boss.send("/invite RÊADER lê chân")  # without diacritics or with stray ones
        boss.expect(f"Mã mời {LABEL}, phụ trách Phường Lê Chân")
        le_chan = code_in(boss.text)
        invitation = await stored(app, le_chan)
        assert (invitation.role, invitation.wards) == (OFFICER, (LE_CHAN,))

        # the roles there before are invited as they always were
        await boss.send("/invite le chan")
        boss.expect("Mã mời cán bộ phụ trách Phường Lê Chân")
        assert (await stored(app, code_in(boss.text))).role == "coordinator"
        await boss.send("/invite admin")
        boss.expect("Mã mời quản trị viên")
        assert (await stored(app, code_in(boss.text))).role == "admin"

        # the new officer holds the row's grants for their ward, and nothing more
        newcomer = Chat(app.engine, user="newcomer", channel="console")
        await newcomer.send(f"/coordinator {le_chan}")
        newcomer.expect(f"Đã được giao làm {LABEL}, phụ trách: Phường Lê Chân.")
        async with app.store.transaction() as uow:
            role = await role_of(uow, "console", "newcomer", ())
        assert role.name == OFFICER
        assert allowed(role, Action.REPORT, LE_CHAN)
        assert not allowed(role, Action.REPORT, HONG_BANG)
        assert not allowed(role, Action.QUEUE)
    finally:
        await app.close()


async def test_the_web_form_offers_and_invites_a_row_added_to_the_table(
    officer: None, tmp_path: Path, database_url: str
) -> None:
    async with served(tmp_path, database_url, ADMIN) as web:
        await sign_in(web, ADMIN)
        body = await (await web.client.get("/console/staff")).text()
        select = body.split('<select name="role">', 1)[1].split("</select>", 1)[0]
        offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', select)
        assert offered == [
            ("coordinator", "cán bộ phụ trách"), ("officer", "cán bộ giám sát"),
            ("verifier", "người xác nhận của đơn vị"), ("admin", "quản trị viên"), (OFFICER, LABEL),
        ]  # fmt: skip
        token = await csrf(web)
        form = [("csrf", token), ("role", OFFICER), ("ward", LE_CHAN), ("ward", HONG_BANG)]
        response = await web.client.post("/console/staff/invite", data=form)
        assert response.status == 200
        code = re.search(r'id="code">([^<]+)<', await response.text())
        assert code is not None
        invitation = await stored(web.app, code.group(1))
        assert invitation.role == OFFICER
        assert sorted(invitation.wards) == sorted((LE_CHAN, HONG_BANG))

        refused = await web.client.post(
            "/console/staff/invite", data=[("csrf", token), ("role", OFFICER)]
        )
        assert refused.status == 400
        assert f"Chọn ít nhất một phường/xã cho vai trò {LABEL}." in page_text(await refused.text())


def test_the_command_line_invites_to_a_row_added_to_the_table(
    officer: None, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coordinator", "invite", "--role", "nobody"]) == 2
    err = capsys.readouterr().err
    assert (
        "(choose from 'coordinator', 'officer', 'verifier', 'admin', 'reader')" in err
    )  # the table's order
    assert main(["coordinator", "invite", "--role", "none"]) == 2  # grants nothing
    capsys.readouterr()
    assert main(["coordinator", "invite", "--role", OFFICER]) == 2
    assert capsys.readouterr().err == (
        "--role reader is held for units: give --ward CODE (repeatable) or --all-wards\n"
    )
    assert main(["coordinator", "invite", "--admin", "--role", OFFICER]) == 2
    assert "not allowed with argument --admin" in capsys.readouterr().err

    assert main(["coordinator", "invite", "--role", OFFICER, "--ward", LE_CHAN]) == 0
    out, err = capsys.readouterr()
    officer_code = out.strip()
    assert "reader invitation for Phường Lê Chân, valid 7 days" in err
    assert main(["coordinator", "invite", "--role", "admin", "--ward", LE_CHAN]) == 0
    out, err = capsys.readouterr()
    admin_code = out.strip()
    assert "admin invitation for the whole city" in err  # --role admin is --admin

    async def check() -> None:
        from bot.config import load_settings

        app = build_app(load_settings())
        try:
            invitation = await stored(app, officer_code)
            assert (invitation.role, invitation.wards) == (OFFICER, (LE_CHAN,))
            invitation = await stored(app, admin_code)
            assert (invitation.role, invitation.wards) == ("admin", ())
        finally:
            await app.close()

    asyncio.run(check())

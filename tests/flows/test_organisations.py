"""Organisations and their verifiers, on both databases: the admins keep the list (`cdht org
add|list`); a citizen picks theirs at registration from part of its name (a name not in the
list is kept as typed, with no organisation); the organisation's verifier, invited with
`--org`, confirms its people's declarations and only theirs; the ward's reviewer is told and
sees the confirmation in the review, and still decides."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import App
from tests.chat import Chat, answer_until
from tests.conftest import make_settings, started_app
from tests.verification_helpers import RecordingDeliverer, coordinator, sender

LE_CHAN = "11383"
SCHOOL = "Trường THPT Ngô Quyền"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDHT_DATABASE_URL", database_url)
    return tmp_path


def run(args: list[str]) -> int:
    return main(args)


async def citizen_at(app: App, user: str, name: str, typed: str, pick: str | None) -> Chat:
    """A worker (group 2) of Phường Lê Chân who types ``typed`` as workplace, then presses
    ``pick`` among the organisations offered (None: nothing offered), and submits."""
    chat = Chat(app.engine, user=user)
    await answer_until(chat, "workplace", group="g2", full_name=name)
    await chat.send(typed)
    if pick is not None:
        chat.expect("Chọn đúng cơ quan, trường học hoặc doanh nghiệp")
        await chat.press(pick)
    await chat.press("confirm")
    chat.expect("đăng ký thành công")
    await chat.send("/declare")
    await chat.press("begin")
    for _ in range(10):
        await chat.send("9")
        await chat.press("none")
    await chat.press("submit")
    chat.expect("Đã nộp")
    return chat


async def test_a_verifier_confirms_its_peoples_declarations_and_the_ward_sees_it(
    env: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(run, ["org", "add", "--name", SCHOOL, "--ward", LE_CHAN]) == 0
    org_id = capsys.readouterr().out.strip()
    assert await asyncio.to_thread(run, ["org", "add", "--name", SCHOOL, "--ward", LE_CHAN]) == 1
    assert "is already in Phường Lê Chân" in capsys.readouterr().err
    assert await asyncio.to_thread(run, ["org", "list"]) == 0
    assert capsys.readouterr().out == f"{org_id}\t{SCHOOL}\t{LE_CHAN}\tPhường Lê Chân\n"
    assert await asyncio.to_thread(run, ["coordinator", "invite", "--org", "999"]) == 1
    assert "no organisation 999" in capsys.readouterr().err
    invite = ["coordinator", "invite", "--org", org_id, "--ward", LE_CHAN]
    assert await asyncio.to_thread(run, invite) == 2
    assert "a verifier is its organisation's" in capsys.readouterr().err
    assert await asyncio.to_thread(run, ["coordinator", "invite", "--org", org_id]) == 0
    out, err = capsys.readouterr()
    code = out.strip()
    assert f"verifier invitation for {SCHOOL}" in err

    app = await started_app(make_settings(env, database_url=database_url))
    try:
        coord = await coordinator(app, "coord")
        worker = await citizen_at(app, "worker", "Trần Văn Bình", "ngo quyen", f"o{org_id}")
        other = await citizen_at(app, "other", "Lê Thị Hoa", "Công ty May Hải Phòng", None)
        async with app.store.transaction() as uow:
            people = {c.full_name: c for c in await uow.citizens.list()}
            declarations = {d.citizen_id: d for d in await uow.declarations.list()}
        assert (people["Trần Văn Bình"].org_id, people["Trần Văn Bình"].workplace) == (
            int(org_id), SCHOOL,
        )  # fmt: skip
        # a name not in the list: kept as typed, no organisation
        assert people["Lê Thị Hoa"].org_id is None
        assert people["Lê Thị Hoa"].workplace == "Công ty May Hải Phòng"
        mine = declarations[people["Trần Văn Bình"].id].id
        theirs = declarations[people["Lê Thị Hoa"].id].id

        verifier = Chat(app.engine, user="teacher")
        await verifier.send(f"/coordinator {code}")
        verifier.expect(f"Đã được giao làm người xác nhận của đơn vị cho {SCHOOL}.")
        await verifier.send("/cancel")
        await verifier.send("/verify")
        verifier.expect("1 hồ sơ của người dân thuộc đơn vị", f"#{mine} Trần Văn Bình")
        assert verifier.choice_ids == [f"/verify {mine}"]
        await verifier.send(f"/verify {theirs}")  # not its organisation's person
        verifier.expect(f"Không có hồ sơ #{theirs} của người dân thuộc đơn vị.")
        assert "Đã xác nhận" not in verifier.text
        await verifier.press(f"/verify {mine}")
        verifier.expect(f"Đã xác nhận hồ sơ số {mine} (Trần Văn Bình) thay mặt {SCHOOL}")
        await verifier.send(f"/verify {mine}")
        verifier.expect(f"{SCHOOL} đã xác nhận hồ sơ số {mine} rồi")
        await verifier.send("/verify")
        verifier.expect("Đơn vị đã xác nhận cả 1 hồ sơ")
        await verifier.send(f"DUYET {mine}")  # a verifier does not decide
        assert "Xác nhận kết quả" not in verifier.text

        deliverer = RecordingDeliverer()
        await sender(app, deliverer).flush()
        told = [d.text for d in deliverer.to("coord")]
        assert any(f"✔️ {SCHOOL} đã xác nhận hồ sơ #{mine} của Trần Văn Bình." in x for x in told)
        await coord.send(f"/review {mine}")
        coord.expect(f"✔️ Đã được {SCHOOL} xác nhận ngày")
        await coord.send("/cancel")
        await coord.send(f"/review {theirs}")
        assert "Đã được" not in coord.text
        assert (worker.user, other.user) == ("worker", "other")
    finally:
        await app.close()

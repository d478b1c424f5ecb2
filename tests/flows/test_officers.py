"""The supervising officer (a district's or the city's), as conversations on both databases:
invited for several wards or all of them, it reads and reports there and decides nothing,
unless it was invited with ``--decide``; then it reviews and decides in the place of a ward's
missing coordinator, and only while the ward has none. Its decision is not the ward's: the
citizen and the letter say who decided."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import App, build_app
from bot.domain.usecases.roles import create_invitation, hash_code, role_of
from bot.services.letters import verified_by_ward
from bot.services.schedule import Scheduler
from tests.chat import Chat
from tests.conftest import make_settings, started_app
from tests.handlers.web_console.http_helpers import csrf, page_text, served, sign_in
from tests.verification_helpers import (
    RecordingDeliverer,
    coordinator,
    declaration_id,
    sender,
    submitted,
)

LE_CHAN, HONG_BANG = "11383", "11311"


async def officer(
    app: App, user: str, wards: tuple[str, ...], decides: bool, name: str | None = None
) -> Chat:
    """An officer's chat, bound by a code made as ``cdht coordinator invite --role officer``
    makes it (``--decide`` when ``decides``)."""
    async with app.store.transaction() as uow:
        code = await create_invitation(
            uow, "officer", wards, "test", datetime.now(UTC), timedelta(days=7), decides
        )
    chat = Chat(app.engine, user=user)
    await chat.send(f"/coordinator {code}")
    chat.expect("cán bộ giám sát", "Người dân sẽ thấy tên nào")
    if name is None:
        await chat.send("/cancel")  # no name given: citizens read the role's own words
    else:
        await chat.send(name)
        chat.expect("Số điện thoại")
        await chat.press("skip")
        chat.expect("Đã lưu")
    return chat


async def test_an_officer_without_decide_reads_and_reports_and_decides_nothing(
    any_app: App,
) -> None:
    app = any_app
    watcher = await officer(app, "watcher", (LE_CHAN, HONG_BANG), decides=False, name="Chị Lan")
    await watcher.send("/start")
    watcher.expect("cán bộ giám sát", "/report")  # its own home, not a registration
    await submitted(app, "citizen")  # Phường Lê Chân has no coordinator
    number = await declaration_id(app)
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    assert deliverer.to("watcher") == []  # not told: it does not review
    await watcher.send("/queue")
    watcher.expect("chưa được giao xét duyệt thay", "/report")
    await watcher.send(f"/review {number}")
    watcher.expect("chưa được giao xét duyệt thay")
    await watcher.send(f"DUYET {number}")
    watcher.expect("chưa được giao xét duyệt thay")
    await watcher.send("/report")
    watcher.expect("Phường Lê Chân", "Phường Hồng Bàng")
    await watcher.send("/broadcast")
    watcher.expect("không thuộc quyền của cán bộ giám sát")
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        assert declaration.status == "submitted" and declaration.claimed_by is None


async def test_an_officer_with_decide_stands_in_only_while_the_ward_has_no_coordinator(
    any_app: App,
) -> None:
    app = any_app
    stand_in = await officer(app, "district", (LE_CHAN, HONG_BANG), decides=True)
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (note,) = deliverer.to("district")  # the ward has no coordinator: the officer is told
    assert note.choices == [f"/review {number}"]
    await stand_in.send("/queue")
    stand_in.expect(f"#{number}")
    await stand_in.send(f"DUYET {number}")
    stand_in.expect("Xác nhận kết quả Đạt")
    await stand_in.press("confirm")
    await sender(app, deliverer).flush()
    told = " ".join(d.text for d in deliverer.to(citizen.user))
    # unnamed: the citizen hears the association's officer, not the ward's staff
    assert "Cán bộ giám sát của Hội Khuyến học đã xét duyệt" in told
    assert "Cán bộ phụ trách phường/xã" not in told
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        assert declaration.status == "recognised" and declaration.decided_by == "test:district"
        assert not await verified_by_ward(uow, declaration)  # the letter: not the ward's
        events = await uow.declarations.events(declaration.id)
        assert [(e.actor, e.to_status) for e in events][-1] == ("test:district", "recognised")

    # a coordinator for Phường Lê Chân takes the ward's decisions back at once
    await coordinator(app, "coord")
    async with app.store.transaction() as uow:
        role = await role_of(uow, "test", "district", ())
    assert role.stand_in == frozenset({HONG_BANG})
    await stand_in.send("/queue")
    stand_in.expect(
        "Không có hồ sơ nào"
    )  # Hồng Bàng's queue, empty; Lê Chân's is the coordinator's
    await submitted(app, "second", scores={i: 8 for i in range(1, 11)})
    async with app.store.transaction() as uow:
        newest = max(d.id for d in await uow.declarations.list())
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    assert deliverer.to("district") == [] and len(deliverer.to("coord")) == 1
    await stand_in.send(f"DUYET {newest}")
    stand_in.expect("phường/xã đã có cán bộ phụ trách")
    async with app.store.transaction() as uow:
        assert (await uow.declarations.get(newest)).status == "submitted"  # type: ignore[union-attr]


async def test_an_admin_invites_an_officer_for_the_whole_city_from_the_chat(
    tmp_path: Path,
) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:boss"))
    try:
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/invite")
        boss.expect("/invite officer", "(hoặc «tất cả»)", "cán bộ giám sát")
        await boss.send("/invite officer tat ca")  # typed without diacritics
        boss.expect("Mã mời cán bộ giám sát, phụ trách toàn thành phố (114 phường, xã, đặc khu)")
        code = re.search(r"[A-Z2-9]{5}-[A-Z2-9]{5}", boss.text)
        assert code is not None
        city = Chat(app.engine, user="city")
        await city.send(f"/coordinator {code.group(0)}")
        city.expect("Đã được giao làm cán bộ giám sát, phụ trách: toàn thành phố (114")
        await city.send("/cancel")
        await boss.send("/staff")
        boss.expect("cán bộ giám sát, địa bàn: toàn thành phố (114 phường, xã, đặc khu) (")
        async with app.store.transaction() as uow:
            role = await role_of(uow, "test", "city", ())
        assert role.name == "officer" and len(role.wards) == len(app.wards) == 114
        assert not role.stand_in  # invited without --decide
    finally:
        await app.close()


def test_the_command_line_invites_officers_for_wards_or_the_city_deciding_or_not(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invite = ["coordinator", "invite"]
    assert main([*invite, "--decide", "--ward", LE_CHAN]) == 2  # a coordinator decides anyway
    assert capsys.readouterr().err == (
        "--decide is an officer's: --role coordinator cannot be given it\n"
    )
    assert main([*invite, "--all-wards"]) == 2  # a coordinator is its wards' own
    assert "--all-wards is not for --role coordinator" in capsys.readouterr().err
    assert main([*invite, "--role", "officer", "--all-wards", "--ward", LE_CHAN]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main([*invite, "--role", "officer"]) == 2
    assert "give --ward CODE (repeatable) or --all-wards" in capsys.readouterr().err

    assert main([*invite, "--role", "officer", "--all-wards"]) == 0
    out, err = capsys.readouterr()
    city_code = out.strip()
    assert "officer invitation for all 114 units, valid 7 days" in err
    assert main([*invite, "--role", "officer", "--ward", LE_CHAN, "--ward", HONG_BANG,
                 "--decide"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    district_code = out.strip()
    assert (
        "officer invitation for Phường Lê Chân, Phường Hồng Bàng, deciding where a unit has no "
        "coordinator, valid 7 days" in err
    )

    async def redeem_both() -> None:
        from bot.config import load_settings

        app = build_app(load_settings())
        try:
            async with app.store.transaction() as uow:
                city = await uow.staff.invitation(hash_code(city_code))
                district = await uow.staff.invitation(hash_code(district_code))
            assert city is not None and (city.role, len(city.wards), city.decides) == (
                "officer",
                114,
                False,
            )
            assert district is not None and (district.wards, district.decides) == (
                (LE_CHAN, HONG_BANG),
                True,
            )
            for user, code in (("city", city_code), ("district", district_code)):
                chat = Chat(app.engine, user=user)
                await chat.send(f"/coordinator {code}")
                chat.expect("cán bộ giám sát")
        finally:
            await app.close()

    asyncio.run(redeem_both())
    assert main(["coordinator", "list"]) == 0
    listed = capsys.readouterr().out
    assert "\tofficer\tactive\ttest:city\tall 114 units\n" in listed
    assert (
        "\tofficer\tactive\ttest:district\tPhường Hồng Bàng, Phường Lê Chân "
        "(decides where a unit has no coordinator)\n" in listed
    )


async def test_the_web_form_invites_an_officer_for_the_city_who_decides(
    tmp_path: Path, database_url: str
) -> None:
    admin = "telegram:900"
    async with served(tmp_path, database_url, admin) as web:
        await sign_in(web, admin)
        page = await (await web.client.get("/console/staff")).text()
        assert 'name="all_wards"' in page and 'name="decides"' in page
        token = await csrf(web)
        form = [("csrf", token), ("role", "officer"), ("all_wards", "yes"), ("decides", "yes")]
        response = await web.client.post("/console/staff/invite", data=form)
        assert response.status == 200
        code = re.search(r'id="code">([^<]+)<', await response.text())
        assert code is not None
        async with web.app.store.transaction() as uow:
            invitation = await uow.staff.invitation(hash_code(code.group(1)))
        assert invitation is not None
        assert (invitation.role, len(invitation.wards), invitation.decides) == (
            "officer",
            114,
            True,
        )

        # only an officer can be asked to decide in a coordinator's place; nothing is stored
        form = [("csrf", token), ("role", "coordinator"), ("ward", LE_CHAN), ("decides", "yes")]
        refused = await web.client.post("/console/staff/invite", data=form)
        assert refused.status == 400
        assert "chỉ cán bộ giám sát mới được giao" in page_text(await refused.text())
        # "all wards" is no coordinator's: without a ward chosen, the form asks for one
        form = [("csrf", token), ("role", "coordinator"), ("all_wards", "yes")]
        refused = await web.client.post("/console/staff/invite", data=form)
        assert refused.status == 400
        async with web.app.store.transaction() as uow:
            assert len(await uow.staff.all()) <= 1  # the signed-in admin's record at most


async def test_an_old_declaration_is_escalated_to_the_wards_district_officer(any_app: App) -> None:
    """After the escalation delay the ward's most local officer hears of it (not the city's
    officer, not the admins); an officer who may not decide there gets no Review button."""
    app = any_app
    await coordinator(app, "coord")
    await officer(app, "district", (LE_CHAN, HONG_BANG), decides=False)
    await officer(app, "city", tuple(w.code for w in app.wards.all()), decides=False)
    await submitted(app, "citizen")
    number = await declaration_id(app)
    later = datetime.now(UTC) + timedelta(days=8)
    scheduler = Scheduler(app.store, ("test:boss",), digest_hour=23, clock=lambda: later)
    assert await scheduler.tick() == 1
    async with app.store.transaction() as uow:  # due at the scheduler's clock, 8 days on
        rows = await uow.outbox.due("test", later, 100)
    (escalation,) = [
        r.message for r in rows if r.message.payload["text"]["key"] == "note.escalation"
    ]
    assert escalation.payload["text"]["params"]["id"] == number
    assert escalation.external_id == "district"  # not the city's officer, not the admins
    assert not escalation.payload.get("choices")  # it may not open it: no Review button


async def test_away_hands_the_open_declarations_over_and_off_takes_work_again(
    any_app: App,
) -> None:
    app = any_app
    first = await coordinator(app, "first")
    await coordinator(app, "second")
    await submitted(app, "citizen")
    number = await declaration_id(app)
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    assert len(deliverer.to("first")) == 1 and deliverer.to("second") == []  # given to one
    await first.send("/queue")
    first.expect(f"#{number} · Nguyễn Thị Hồng Nhung · Phường Lê Chân", "· giao cho anh/chị")
    await first.send("/away")
    first.expect("tạm nghỉ", "Đã chuyển 1 hồ sơ")
    await sender(app, deliverer).flush()
    (note,) = deliverer.to("second")
    await first.send("/queue")
    assert "giao cho anh/chị" not in first.text  # handed over: it is the other's now
    assert f"Hồ sơ #{number}" in note.text and "đang tạm nghỉ" in note.text
    assert note.choices == [f"/review {number}"]
    await first.send("/away ngay mai")  # neither /away nor /away off
    first.expect("/away off")
    await first.send("/away tắt")
    first.expect("Chào mừng anh/chị trở lại")
    await first.send("/away off")
    first.expect("đang nhận hồ sơ bình thường")
    citizen = Chat(app.engine, user="citizen")
    await citizen.send("/away")
    citizen.expect("chỉ dành cho cán bộ")
    watcher = await officer(app, "watcher", (LE_CHAN,), decides=False)
    await watcher.send("/away")
    watcher.expect("không được giao xét duyệt hồ sơ")


def test_the_command_line_sets_a_reviewers_capacity(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coordinator", "invite", "--ward", LE_CHAN]) == 0
    code = capsys.readouterr().out.strip()

    async def redeem() -> None:
        from bot.config import load_settings

        app = build_app(load_settings())
        try:
            await Chat(app.engine, user="coord").send(f"/coordinator {code}")
        finally:
            await app.close()

    asyncio.run(redeem())
    assert main(["coordinator", "list"]) == 0
    (line,) = [row for row in capsys.readouterr().out.splitlines() if "test:coord" in row]
    number = line.split("\t")[0]
    assert main(["coordinator", "capacity", number, "5"]) == 0
    assert (
        capsys.readouterr().out == f"#{number} is given at most 5 open declarations; 0 open now\n"
    )
    assert main(["coordinator", "list"]) == 0
    assert "Phường Lê Chân (given at most 5 open)" in capsys.readouterr().out
    assert main(["coordinator", "capacity", number, "default"]) == 0
    assert "at most 40 (the default)" in capsys.readouterr().out
    assert main(["coordinator", "capacity", number, "-1"]) == 2
    assert "N is a whole number from 0 to 10000" in capsys.readouterr().err
    assert main(["coordinator", "capacity", "999", "5"]) == 1
    assert "no active staff member #999" in capsys.readouterr().err

"""Broadcasts without a conversation, on each backend: who may send, where (a coordinator only to
wards all of which are their own), which texts, and who may see or withdraw a broadcast. The
chat's /broadcast, the web console and ``cdht broadcast`` call these same functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.app import App
from bot.domain.ports import UnitOfWork
from bot.domain.usecases.broadcasts import (
    MAX_TEXT,
    audience,
    broadcast,
    cancel_broadcast,
    text_problem,
    visible_broadcast,
)
from bot.domain.usecases.roles import OPERATOR, Role, create_invitation, redeem, role_of

NOW = datetime.now(UTC)
LE_CHAN, HONG_BANG = "11383", "11311"
TEXT = "Mời bà con tham gia buổi sinh hoạt học tập tối thứ Bảy."


async def coordinator(uow: UnitOfWork, user: str, wards: tuple[str, ...] = (LE_CHAN,)) -> Role:
    code = await create_invitation(uow, "coordinator", wards, "test", NOW, timedelta(days=7))
    assert (await redeem(uow, "test", user, code, NOW)).staff is not None
    return await role_of(uow, "test", user, ())


async def broadcasts(app: App) -> int:
    async with app.store.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM broadcasts"))).scalar_one())


async def test_a_coordinator_out_of_their_wards_is_refused(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        role = await coordinator(uow, "coord")
        for wards in ((HONG_BANG,), (LE_CHAN, HONG_BANG), ()):  # () is the whole city
            done = await broadcast(uow, role, TEXT, audience(wards=wards), NOW)
            assert (done.broadcast, done.problem) == (None, "out_of_scope"), wards
    assert await broadcasts(any_app) == 0
    async with any_app.store.transaction() as uow:
        done = await broadcast(uow, role, TEXT, audience(wards=(LE_CHAN,)), NOW)
    assert done.problem is None and done.broadcast is not None
    assert (done.broadcast.created_by, done.broadcast.audience["wards"]) == (
        "test:coord",
        [LE_CHAN],
    )
    assert await broadcasts(any_app) == 1


async def test_an_account_that_may_not_broadcast_is_refused(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        revoked = await coordinator(uow, "gone")
        assert revoked.staff is not None and await uow.staff.revoke(revoked.staff.id, NOW)
        for role in (
            await role_of(uow, "test", "citizen", ()),
            await role_of(uow, "test", "gone", ()),
        ):
            for wards in ((LE_CHAN,), ()):
                done = await broadcast(uow, role, TEXT, audience(wards=wards), NOW)
                assert done.problem == "not_allowed"
    assert await broadcasts(any_app) == 0


async def test_an_admin_reaches_the_city_and_the_text_is_checked(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        boss = await role_of(uow, "test", "boss", ("test:boss",))
        for said, problem in (("", "empty"), ("  ", "empty"), ("a", "short"),
                              ("x" * (MAX_TEXT + 1), "long")):  # fmt: skip
            assert text_problem(said) == problem
            done = await broadcast(uow, boss, said, audience(), NOW)
            assert done.problem == problem
        city = await broadcast(uow, boss, TEXT, audience(), NOW)
        ward = await broadcast(uow, OPERATOR, TEXT, audience(wards=(HONG_BANG,)), NOW)
    assert city.broadcast is not None and "wards" not in city.broadcast.audience
    assert ward.broadcast is not None and ward.broadcast.created_by == "cli"
    assert await broadcasts(any_app) == 2


async def test_a_coordinator_sees_and_withdraws_only_their_own(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        coord = await coordinator(uow, "coord")
        neighbour = await coordinator(uow, "neighbour")
        boss = await role_of(uow, "test", "boss", ("test:boss",))
        later = NOW + timedelta(days=1)  # scheduled: nothing is sent before it is withdrawn
        mine = await broadcast(uow, coord, TEXT, audience(wards=(LE_CHAN,)), NOW, at=later)
        theirs = await broadcast(uow, boss, TEXT, audience(), NOW, at=later)
        assert mine.broadcast is not None and theirs.broadcast is not None
        assert await visible_broadcast(uow, coord, theirs.broadcast.id) is None
        assert await visible_broadcast(uow, neighbour, mine.broadcast.id) is None
        assert await cancel_broadcast(uow, neighbour, mine.broadcast.id) is None
        assert await cancel_broadcast(uow, coord, theirs.broadcast.id) is None
        assert await visible_broadcast(uow, boss, mine.broadcast.id) is not None
        assert await cancel_broadcast(uow, coord, mine.broadcast.id) == 0
        assert await cancel_broadcast(uow, boss, theirs.broadcast.id) == 0
        assert await visible_broadcast(uow, coord, 999) is None

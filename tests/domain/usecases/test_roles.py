"""Roles without a conversation, on each backend: who may invite, a code that binds exactly one
of the accounts racing for it, and revocation's refusals, its message to the account and the
reviews it gives back. The chat's /invite, /coordinator and /revoke call these same functions
(tests/flows/test_staff_commands.py, tests/services/test_staff_roles.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.app import App
from bot.domain.ports import UnitOfWork
from bot.domain.records import NewCitizen, Staff
from bot.domain.usecases.roles import (
    OPERATOR,
    Redeemed,
    create_invitation,
    invite,
    redeem,
    revoke,
    role_of,
)
from bot.engine.types import Text, text_from_json

NOW = datetime.now(UTC)
VALID = timedelta(days=7)
LE_CHAN, HONG_BANG = "11383", "11311"


async def staff_member(
    uow: UnitOfWork, user: str, kind: str = "coordinator", wards: tuple[str, ...] = (LE_CHAN,)
) -> Staff:
    """``test:<user>`` made a ``kind`` by redeeming a code."""
    code = await create_invitation(uow, kind, wards, "test", NOW, VALID)
    done = await redeem(uow, "test", user, code, NOW)
    assert done.staff is not None, done
    return done.staff


async def invitations(app: App) -> int:
    async with app.store.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM invitations"))).scalar_one())


async def told(uow: UnitOfWork, external_id: str) -> list[str]:
    """The catalog keys of the messages waiting for ``test:<external_id>``."""
    due = await uow.outbox.due("test", NOW + timedelta(minutes=1), 100)
    keys = []
    for row in due:
        if row.message.external_id == external_id and "text" in row.message.payload:
            said = text_from_json(row.message.payload["text"])
            keys.append(getattr(said, "key", str(said)))
    return keys


# -- invite ----------------------------------------------------------------------------------


async def test_a_coordinator_may_not_invite_and_no_code_is_made(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        await staff_member(uow, "coord")
        role = await role_of(uow, "test", "coord", ())
        for kind, wards in (("coordinator", (LE_CHAN,)), ("admin", ())):
            done = await invite(uow, role, kind, wards, NOW, VALID)
            assert (done.code, done.problem) == (None, "not_allowed")
    assert await invitations(any_app) == 1  # only the one the coordinator redeemed


async def test_a_citizen_may_not_invite(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        role = await role_of(uow, "test", "citizen", ())
        done = await invite(uow, role, "coordinator", (LE_CHAN,), NOW, VALID)
    assert done.problem == "not_allowed"
    assert await invitations(any_app) == 0


async def test_an_admin_invites_a_coordinator_for_wards_and_an_admin_for_the_city(
    any_app: App,
) -> None:
    async with any_app.store.transaction() as uow:
        boss = await role_of(uow, "test", "boss", ("test:boss",))  # CDHT_ADMINS
        coordinator = await invite(uow, boss, "coordinator", (LE_CHAN, HONG_BANG, LE_CHAN), NOW,
                                   VALID)  # fmt: skip
        admin = await invite(uow, boss, "admin", (LE_CHAN,), NOW, VALID)
        assert (await invite(uow, boss, "coordinator", (), NOW, VALID)).problem == "no_ward"
        assert (await invite(uow, boss, "none", (), NOW, VALID)).problem == "unknown_role"
        assert (await invite(uow, boss, "district", (), NOW, VALID)).problem == "unknown_role"
    assert coordinator.code and coordinator.wards == (LE_CHAN, HONG_BANG)
    assert admin.code and admin.wards == ()  # a city-wide role binds no ward
    async with any_app.store.transaction() as uow:
        made = await redeem(uow, "test", "new", coordinator.code, NOW)
        assert made.staff is not None
        assert (made.staff.role, made.staff.wards) == (
            "coordinator",
            frozenset({LE_CHAN, HONG_BANG}),
        )
        assert made.staff.invited_by == "test:boss"  # the author is the inviting account
        promoted = await redeem(uow, "test", "deputy", admin.code, NOW)
        assert promoted.staff is not None and promoted.staff.role == "admin"
        assert (await role_of(uow, "test", "deputy", ())).admin
    assert await invitations(any_app) == 2


# -- redeem ----------------------------------------------------------------------------------


async def test_of_six_accounts_redeeming_one_code_at_once_exactly_one_wins(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        code = await create_invitation(uow, "coordinator", (LE_CHAN,), "test", NOW, VALID)

    async def attempt(n: int) -> Redeemed:
        async with any_app.store.transaction() as uow:
            return await redeem(uow, "test", f"racer{n}", code, NOW)

    results = await asyncio.gather(*(attempt(n) for n in range(6)))
    winners = [result.staff for result in results if result.staff is not None]
    assert len(winners) == 1, results
    assert sorted(str(result.problem) for result in results) == ["None"] + ["used"] * 5
    async with any_app.store.transaction() as uow:
        members = await uow.staff.all()
        roles = [await role_of(uow, "test", f"racer{n}", ()) for n in range(6)]
    assert [member.account for member in members] == [winners[0].account]
    assert [role.account for role in roles if role.is_staff] == [winners[0].account]


async def test_a_refused_code_changes_no_role_and_counts_towards_the_lock(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        for attempt in range(5):
            done = await redeem(uow, "test", "guesser", "AAAAA-BBBBB", NOW)
            assert done.problem == "unknown", attempt
        locked = await redeem(uow, "test", "guesser", "AAAAA-BBBBB", NOW)
        assert (locked.problem, locked.wait_minutes) == ("locked", 1)
        assert await uow.staff.all() == []


# -- revoke ----------------------------------------------------------------------------------


async def test_revoking_tells_the_account_and_gives_back_its_reviews(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        member = await staff_member(uow, "coord")
        citizen = await uow.citizens.create(
            NewCitizen(
                full_name="Nguyễn Thị Hoa", birth_year=1980, gender=None, phone="+84912000001",
                group=1, ward_code=LE_CHAN, ward_name="Phường Lê Chân", ward_data_version="t",
                residential_group="Tổ 1", workplace=None, guardian_consent=None,
                channel="test", locale="vi",
            ),
            NOW,
        )  # fmt: skip
        declaration = await uow.declarations.create(citizen.id, NOW.year, "qd324-2023", NOW)
        await uow.declarations.set_status(declaration.id, "submitted", NOW)
        assert await uow.declarations.claim(declaration.id, member.id, NOW, NOW) == member.id
        said = await revoke(uow, OPERATOR, member.id, (), NOW)
        assert said.key == "staff.revoke.done"
        named = said.params["person"]
        assert said.params["id"] == member.id
        assert isinstance(named, Text) and named.key == "web.person.unnamed"  # no account id
        assert await told(uow, "coord") == ["note.revoked"]
        held = await uow.declarations.get(declaration.id)
        assert held is not None and (held.claimed_by, held.claimed_at) == (None, None)
        assert not (await role_of(uow, "test", "coord", ())).is_staff
        again = await revoke(uow, OPERATOR, member.id, (), NOW)
        assert (again.key, again.params["id"]) == ("staff.revoke.already", member.id)
        assert await told(uow, "coord") == ["note.revoked"]  # told once


async def test_revoking_refuses_oneself_configured_admins_and_unknown_numbers(
    any_app: App,
) -> None:
    async with any_app.store.transaction() as uow:
        deputy = await staff_member(uow, "deputy", "admin", ())
        configured = await staff_member(uow, "boss")  # also listed in CDHT_ADMINS
        coord = await staff_member(uow, "coord")
        admins = ("test:boss",)
        role = await role_of(uow, "test", "deputy", admins)
        assert (await revoke(uow, role, deputy.id, admins, NOW)).key == "staff.revoke.self"
        refused = await revoke(uow, role, configured.id, admins, NOW)
        assert refused.key == "staff.revoke.configured"
        assert (await revoke(uow, role, 999, admins, NOW)).key == "staff.revoke.unknown"
        grants_nothing = await uow.staff.record("test", "claimer", NOW)  # an admin's claim
        assert (await revoke(uow, role, grants_nothing, admins, NOW)).key == "staff.revoke.unknown"
        coordinator = await role_of(uow, "test", "coord", admins)
        assert (await revoke(uow, coordinator, deputy.id, admins, NOW)).key == "staff.admin_only"
        assert [m.revoked_at for m in await uow.staff.all()] == [None] * 4
        assert await told(uow, "deputy") == await told(uow, "boss") == []
        assert (await revoke(uow, role, coord.id, admins, NOW)).key == "staff.revoke.done"

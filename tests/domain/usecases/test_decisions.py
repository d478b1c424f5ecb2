"""Decisions without a conversation, on each backend: a coordinator claims a review, approves
(the status, the audit event, the message to the citizen), and takes it back within
``UNDO_WINDOW``; the refusals read as the chat says them. The chat's review flow and the web
console call these same functions (tests/flows/test_review.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.domain.ports import UnitOfWork
from bot.domain.records import NewCitizen
from bot.domain.usecases.decisions import (
    UNDO_WINDOW,
    approve,
    check,
    claim,
    decider_of,
    held,
    reject,
    release,
    return_for_more,
    undo_decision,
)
from bot.domain.usecases.roles import Role, create_invitation, redeem, role_of
from bot.engine.types import Text, text_from_json

NOW = datetime.now(UTC)
LE_CHAN, HONG_BANG = "11383", "11311"
HOLD = timedelta(minutes=30)


async def coordinator(uow: UnitOfWork, user: str, ward: str = LE_CHAN) -> Role:
    """``test:<user>``, coordinator of ``ward``, who gave the name «Cán bộ <user>»."""
    code = await create_invitation(uow, "coordinator", (ward,), "test", NOW, timedelta(days=7))
    done = await redeem(uow, "test", user, code, NOW)
    assert done.staff is not None
    await uow.staff.set_profile(done.staff.id, f"Cán bộ {user}", None)
    return await role_of(uow, "test", user, ())


def staff_id(role: Role) -> int:
    assert role.staff is not None
    return role.staff.id


def refusal(found: tuple[object, Text | None]) -> str:
    """The catalog key of a check's refusal."""
    assert found[0] is None and found[1] is not None
    return found[1].key


async def submitted(app: App, uow: UnitOfWork, score: int = 9) -> int:
    """A citizen of Phường Lê Chân (account ``test:citizen``) who submitted this year's
    declaration with ``score`` for every indicator; its number."""
    citizen = await uow.citizens.create(
        NewCitizen(
            full_name="Nguyễn Thị Hoa", birth_year=1980, gender=None, phone="+84912000001",
            group=1, ward_code=LE_CHAN, ward_name="Phường Lê Chân", ward_data_version="t",
            residential_group="Tổ 1", workplace=None, guardian_consent=None, channel="test",
            locale="vi",
        ),
        NOW,
    )  # fmt: skip
    identity = await uow.identities.create("test", "citizen", "vi")
    await uow.identities.bind(identity.id, citizen.id)
    year = app.services.year(NOW)
    declaration = await uow.declarations.create(citizen.id, year, "qd324-2023", NOW)
    for indicator in range(1, 11):
        await uow.declarations.set_score(declaration.id, indicator, score, NOW)
    await uow.declarations.set_status(declaration.id, "submitted", NOW)
    return declaration.id


async def told_citizen(uow: UnitOfWork) -> list[tuple[str, dict[str, Any], list[str]]]:
    """What waits for the citizen's account: (catalog key, params, button commands)."""
    found = []
    for row in await uow.outbox.due("test", NOW + timedelta(hours=1), 100):
        if row.message.external_id == "citizen":
            said = text_from_json(row.message.payload["text"])
            commands = [command for command, _ in row.message.payload["choices"]]
            found.append((getattr(said, "key", ""), getattr(said, "params", {}), commands))
    return found


async def test_approving_records_the_event_and_tells_the_citizen(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        number = await submitted(any_app, uow)
        role = await coordinator(uow, "coord")
        assert (await claim(uow, role, number, NOW, HOLD)).mine
        declaration, problem = await held(uow, role, number, NOW)
        assert problem is None and declaration is not None
        criteria = any_app.services.criteria[declaration.criteria_set]
        decider = await decider_of(uow, role, NOW)
        evaluation = await approve(
            uow, declaration, criteria, {i: 9 for i in range(1, 11)}, decider, NOW
        )
        assert evaluation.recognised and evaluation.total == 90
        after = await uow.declarations.get(number)
        assert after is not None
        assert (after.status, after.decision, after.decided_by, after.claimed_by) == (
            "recognised", "approved", "test:coord", None,
        )  # fmt: skip
        assert after.reviewer == staff_id(role)
        (event,) = await uow.declarations.events(number)
        assert (event.actor, event.from_status, event.to_status) == (
            "test:coord", "submitted", "recognised",
        )  # fmt: skip
        ((key, params, buttons),) = await told_citizen(uow)
    assert (key, params["total"], params["max_total"], buttons) == (
        "note.recognised", 90, 100, ["/giayxacnhan"],
    )  # fmt: skip
    assert params["by"].key == "note.by" and params["by"].params["name"] == "Cán bộ coord"


async def test_a_decision_is_undone_within_the_window_by_its_author_only(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        number = await submitted(any_app, uow, score=5)
        role = await coordinator(uow, "coord")
        other = await coordinator(uow, "other")  # the same ward
        elsewhere = await coordinator(uow, "far", HONG_BANG)
        assert (await claim(uow, role, number, NOW, HOLD)).mine
        declaration, _ = await held(uow, role, number, NOW)
        assert declaration is not None
        await reject(uow, declaration, "Không cư trú tại phường", await decider_of(uow, role, NOW),
                     NOW)  # fmt: skip
        later = NOW + UNDO_WINDOW - timedelta(seconds=1)
        assert await undo_decision(uow, elsewhere, number, later) == "unknown"
        assert await undo_decision(uow, await role_of(uow, "test", "citizen", ()), number,
                                   later) == "unknown"  # fmt: skip
        assert await undo_decision(uow, other, number, later) == "nothing"
        assert await undo_decision(uow, role, 999, later) == "unknown"
        assert await undo_decision(uow, role, number, later) is None
        back = await uow.declarations.get(number)
        assert back is not None
        assert (back.status, back.decision, back.claimed_by) == (
            "submitted", None, staff_id(role),
        )  # fmt: skip
        assert [key for key, _, _ in await told_citizen(uow)] == ["note.rejected", "note.undone"]
        assert await undo_decision(uow, role, number, later) == "nothing"  # nothing left to undo
        # decided again, then too late
        await return_for_more(uow, back, [3], "Cần ảnh giấy chứng nhận",
                              await decider_of(uow, role, later), later)  # fmt: skip
        too_late = later + UNDO_WINDOW + timedelta(seconds=1)
        assert await undo_decision(uow, role, number, too_late) == "late"
        final = await uow.declarations.get(number)
        assert final is not None and final.status == "returned"


async def test_checks_and_claims_refuse_as_the_chat_says(any_app: App) -> None:
    async with any_app.store.transaction() as uow:
        number = await submitted(any_app, uow)
        role = await coordinator(uow, "coord")
        other = await coordinator(uow, "other")
        elsewhere = await coordinator(uow, "far", HONG_BANG)
        citizen = await role_of(uow, "test", "citizen", ())
        assert refusal(await check(uow, citizen, number)) == "rev.error.not_staff"
        assert refusal(await check(uow, elsewhere, number)) == "rev.error.unknown"
        assert refusal(await check(uow, role, 999)) == "rev.error.unknown"
        assert (await claim(uow, role, number, NOW, HOLD)).mine
        taken = await claim(uow, other, number, NOW, HOLD)
        assert not taken.mine and taken.holder is not None
        assert taken.holder.display_name == "Cán bộ coord"
        assert refusal(await held(uow, other, number, NOW)) == "rev.error.claim_lost"
        assert (await claim(uow, other, number, NOW + HOLD + timedelta(seconds=1), HOLD)).mine
        await release(uow, "test", "coord", number)  # not theirs any more: nothing changes
        found = await uow.declarations.get(number)
        assert found is not None and found.claimed_by == staff_id(other)
        await release(uow, "test", "other", number)
        found = await uow.declarations.get(number)
        assert found is not None and found.claimed_by is None
        await release(uow, "test", "nobody", number)  # no record: none is created
        assert await uow.staff.by_account("test", "nobody") is None

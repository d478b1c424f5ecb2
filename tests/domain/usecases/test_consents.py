"""Consents after registration without a conversation: given one purpose at a time, and
withdrawn so; withdrawing the sharing takes a submitted declaration back from the reviewers, as
``/profile`` does; on SQLite, and on PostgreSQL when CDHT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.consents import REGISTRATION, SHARING, STATISTICS, active_purposes
from bot.domain.usecases.consents import give, withdraw
from bot.domain.usecases.declarations import submit
from storage import SqlStore
from tests.domain.usecases.test_declarations import (
    ALL_NINE,
    CRITERIA,
    NOW,
    answered,
    citizen_of,
    coordinator,
    sent,
    to,
)

LATER = NOW + timedelta(days=3)


async def test_give_records_one_purpose_under_the_notice_in_force(store: SqlStore) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow, purposes=(REGISTRATION,))
        await give(uow, citizen.id, STATISTICS, "2026-02", "zalo", LATER)
    async with store.transaction() as uow:
        consents = await uow.consents.for_citizen(citizen.id)
        assert await active_purposes(uow, citizen.id) == {REGISTRATION, STATISTICS}
    (given,) = [c for c in consents if c.purposes == (STATISTICS,)]
    assert (given.notice_version, given.channel, given.accepted_at, given.withdrawn_at) == (
        "2026-02", "zalo", LATER, None,
    )  # fmt: skip


async def test_withdrawing_another_purpose_leaves_the_declaration_with_the_reviewers(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        await coordinator(uow, "c1")
        citizen = await citizen_of(uow, purposes=(REGISTRATION, SHARING, STATISTICS))
        declaration = await answered(uow, citizen)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
    async with store.transaction() as uow:
        assert await withdraw(uow, citizen, STATISTICS, LATER, year=2026) is None
    async with store.transaction() as uow:
        assert await active_purposes(uow, citizen.id) == {REGISTRATION, SHARING}
        (withdrawn,) = [c for c in await uow.consents.for_citizen(citizen.id) if c.withdrawn_at]
        assert (withdrawn.purposes, withdrawn.withdrawn_at) == ((STATISTICS,), LATER)
        stored = await uow.declarations.get(declaration.id)
        assert stored is not None and stored.status == "submitted"
        assert to(await sent(uow)) == [("telegram:c1", "note.submitted", "notification")]


async def test_withdrawing_the_sharing_returns_a_submitted_declaration_to_draft(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        c1, c2 = await coordinator(uow, "c1"), await coordinator(uow, "c2")
        holder = await coordinator(uow, "city", wards=(), role="admin")
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        assert await uow.declarations.claim(declaration.id, holder.id, NOW, NOW) == holder.id
        await uow.outbox.erase(citizen.id, [])  # the submission's messages
    async with store.transaction() as uow:
        taken_back = await withdraw(uow, citizen, SHARING, LATER, year=2026, admins=("zalo:boss",))
    assert taken_back == declaration.id
    async with store.transaction() as uow:
        assert await active_purposes(uow, citizen.id) == {REGISTRATION}
        stored = await uow.declarations.get(declaration.id)
        events = await uow.declarations.events(declaration.id)
        messages = await sent(uow)
    assert stored is not None
    assert (stored.status, stored.claimed_by, stored.claimed_at) == ("draft", None, None)
    last = events[-1]
    assert (last.actor, last.from_status, last.to_status, last.reason, last.created_at) == (
        "citizen", "submitted", "draft", "consent withdrawn", LATER,
    )  # fmt: skip
    # those who were told of the submission, and whoever held its review: not the admins of
    # the configuration, since the ward has coordinators
    assert to(messages) == sorted(
        (account, "note.sharing_withdrawn", "notification")
        for account in (c1.account, c2.account, holder.account)
    )
    for message in messages:  # by number only: the citizen has withdrawn the sharing of their name
        assert message.payload["text"]["params"] == {"id": declaration.id}
        assert message.subject_id is None


async def test_withdrawing_the_sharing_of_a_ward_without_coordinator_tells_the_admins(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW, admins=("zalo:boss",))
        await uow.outbox.erase(citizen.id, [])
        assert await withdraw(uow, citizen, SHARING, LATER, year=2026, admins=("zalo:boss",)) == (
            declaration.id
        )
        assert to(await sent(uow)) == [("zalo:boss", "note.sharing_withdrawn", "notification")]


async def test_withdrawing_the_sharing_of_a_draft_or_another_year_takes_nothing_back(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        await coordinator(uow, "c1")
        citizen = await citizen_of(uow)
        draft = await answered(uow, citizen)
        assert await withdraw(uow, citizen, SHARING, LATER, year=2026) is None
        assert await sent(uow) == []
        await give(uow, citizen.id, SHARING, "2026-01", "telegram", LATER)
        await submit(uow, citizen, draft.id, CRITERIA, ALL_NINE, LATER)
        await uow.outbox.erase(citizen.id, [])
        # the campaign year is the one asked about: last year's declaration stays submitted
        assert await withdraw(uow, citizen, SHARING, LATER, year=2027) is None
        stored = await uow.declarations.get(draft.id)
        assert stored is not None and stored.status == "submitted"
        assert await sent(uow) == []

"""Work shared among a ward's reviewers, on both databases: 1,000 simulated declarations given
one at a time (each in its own transaction, as submissions are), with reviewers deciding at
random, one away for a while, capacities that differ: no reviewer ever holds more open than its
capacity, each declaration goes to one of the least loaded of those free, and with nobody
deciding the totals differ by one at most. Then the hold time and ``/away`` hand work on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.domain.records import Citizen, Declaration, Staff
from bot.domain.usecases.assignment import assign_new, set_away
from bot.services.schedule import Scheduler
from storage import SqlStore
from tests.domain.usecases.test_declarations import citizen_of, coordinator, sent

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
LE_CHAN = "11383"


async def declarations_of(store: SqlStore, citizen: Citizen, count: int) -> list[Declaration]:
    """``count`` submitted declarations of one citizen (one a year: the table allows one per
    citizen and year), written directly: the assignment reads only their status."""
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO declarations (citizen_id, year, criteria_set, status, created_at, "
                "updated_at, submitted_at, review_round) VALUES (:citizen, :year, 'qd324-2023', "
                "'submitted', :now, :now, :now, 1)"
            ),
            [{"citizen": citizen.id, "year": 1000 + n, "now": NOW} for n in range(count)],
        )
    async with store.transaction() as uow:
        found = await uow.declarations.of_citizen(citizen.id)
    return sorted(found, key=lambda d: d.id)


async def open_counts(store: SqlStore, members: list[Staff]) -> dict[int, int]:
    async with store.transaction() as uow:
        load = await uow.declarations.open_load([m.id for m in members])
    return {m.id: load.get(m.id, (0, None))[0] for m in members}


async def decide_one(store: SqlStore, declaration_id: int) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE declarations SET status = 'recognised' WHERE id = :id"),
            {"id": declaration_id},
        )


async def test_a_thousand_declarations_stay_within_capacity_and_go_to_the_least_loaded(
    store: SqlStore,
) -> None:
    rng = random.Random(22)
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        members = [await coordinator(uow, f"c{n}") for n in range(5)]
        await coordinator(uow, "elsewhere", wards=("11311",))  # another ward's: never given any
    capacities = {members[0].id: 3, members[1].id: 6, members[2].id: 6, members[3].id: 10}
    async with store.transaction() as uow:
        for member_id, capacity in capacities.items():
            assert await uow.staff.set_capacity(member_id, capacity)
    default = 8  # members[4]'s, as CDHT_REVIEW_CAPACITY would set it
    limit = {m.id: capacities.get(m.id, default) for m in members}
    away = members[2]
    given: dict[int | None, list[int]] = {}
    open_now: dict[int, list[int]] = {m.id: [] for m in members}
    for step, declaration in enumerate(await declarations_of(store, citizen, 1000)):
        if step == 300:
            async with store.transaction() as uow:
                await set_away(uow, away, True, NOW, default)
            open_now[away.id] = []  # handed to others or to the pool
        if step == 600:
            async with store.transaction() as uow:
                await set_away(uow, away, False, NOW, default)
        before = await open_counts(store, members)
        async with store.transaction() as uow:
            reviewer = await assign_new(
                uow, declaration, citizen, NOW + timedelta(seconds=step), default
            )
        free = {
            m.id: before[m.id]
            for m in members
            if before[m.id] < limit[m.id] and not (m.id == away.id and 300 <= step < 600)
        }
        if reviewer is None:
            assert not free, (step, before)  # the pool only when everyone is full or away
        else:
            assert reviewer.id in free, (step, reviewer.id, before)
            assert before[reviewer.id] == min(free.values()), (step, before)  # least loaded
            open_now[reviewer.id].append(declaration.id)
        given.setdefault(reviewer.id if reviewer else None, []).append(declaration.id)
        after = await open_counts(store, members)
        assert all(after[m.id] <= limit[m.id] for m in members), (step, after)
        for waiting in open_now.values():  # each decides now and then, slower than arrivals
            if waiting and rng.random() < 0.15:
                await decide_one(store, waiting.pop(rng.randrange(len(waiting))))
    assert len(given.get(None, [])) > 0  # some went to the pool: everyone was full at times
    assert all(given.get(m.id) for m in members)  # and every reviewer was given work
    async with store.transaction() as uow:
        stored = await uow.declarations.of_citizen(citizen.id)
    by_id = {d.id: d for d in stored}
    for reviewer_id, ids in given.items():
        if reviewer_id is not None and reviewer_id != away.id:  # the away one's moved on
            assert all(
                by_id[i].assigned_to == reviewer_id for i in ids if by_id[i].status == "submitted"
            )


async def test_with_nobody_deciding_the_totals_differ_by_one_at_most(store: SqlStore) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        members = [await coordinator(uow, f"c{n}") for n in range(7)]
    for step, declaration in enumerate(await declarations_of(store, citizen, 1000)):
        async with store.transaction() as uow:
            assert await assign_new(uow, declaration, citizen, NOW + timedelta(seconds=step), 1000)
    counts = await open_counts(store, members)
    assert sum(counts.values()) == 1000
    assert max(counts.values()) - min(counts.values()) <= 1, counts  # 1,000 / 7: 142 or 143


async def test_the_hold_time_and_away_hand_declarations_to_another_reviewer(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        first, second = await coordinator(uow, "first"), await coordinator(uow, "second")
    declarations = await declarations_of(store, citizen, 2)
    async with store.transaction() as uow:
        for declaration in declarations:
            await assign_new(uow, declaration, citizen, NOW, 40)
    assert await open_counts(store, [first, second]) == {first.id: 1, second.id: 1}
    later = NOW + timedelta(hours=25)
    async with store.transaction() as uow:  # «first» is reviewing its one now: it stays
        assert await uow.declarations.claim(declarations[0].id, first.id, later, later) == first.id
    scheduler = Scheduler(store, (), digest_hour=23, hold=timedelta(hours=24), clock=lambda: later)
    await scheduler.tick()
    async with store.transaction() as uow:
        kept = await uow.declarations.get(declarations[0].id)
        moved = await uow.declarations.get(declarations[1].id)
        messages = await sent(uow)
    assert kept is not None and kept.assigned_to == first.id
    assert moved is not None and (moved.assigned_to, moved.assigned_at) == (first.id, later)
    (told,) = [m for m in messages if m.payload["text"]["key"] == "note.passed_on"]
    assert (told.channel, told.external_id) == ("telegram", "first")
    assert told.payload["text"]["params"]["hours"] == 24

    async with store.transaction() as uow:  # «first» goes away: both go to «second»
        member = await uow.staff.get(first.id)
        assert member is not None
        assert await set_away(uow, member, True, later, 40) == 2
    assert await open_counts(store, [first, second]) == {first.id: 0, second.id: 2}
    async with store.transaction() as uow:
        member = await uow.staff.get(first.id)
        assert member is not None and member.away_since == later
        citizen43 = await citizen_of(uow, "43")
    (newcomer,) = await declarations_of(store, citizen43, 1)
    async with store.transaction() as uow:  # away: the next goes to «second» though it has 2
        reviewer = await assign_new(uow, newcomer, citizen43, later, 40)
    assert reviewer is not None and reviewer.id == second.id


async def test_a_revoked_reviewers_open_declarations_go_back_to_the_pool(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        member = await coordinator(uow, "leaving")
    (declaration,) = await declarations_of(store, citizen, 1)
    async with store.transaction() as uow:
        assert await assign_new(uow, declaration, citizen, NOW, 40) is not None
        assert await uow.staff.revoke(member.id, NOW)
    async with store.transaction() as uow:
        stored = await uow.declarations.get(declaration.id)
    assert stored is not None and (stored.assigned_to, stored.assigned_at) == (None, None)

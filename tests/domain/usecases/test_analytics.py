"""Reviewer analytics against a seeded history with answers worked out by hand, on both
databases: seven declarations in two wards, decided by three reviewers at known hours, one
returned twice, three still waiting for 12 hours, 2 days and 10 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.services.analytics import Times, nearest_rank, reviewer_analytics
from storage import SqlStore
from tests.domain.usecases.test_declarations import citizen_of

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=20)
A, B = "11383", "11311"
C1, C2, C3 = "telegram:c1", "telegram:c2", "telegram:c3"
H = timedelta(hours=1)
# declaration: (ward, status now, [(actor, to_status, at)])
HISTORY = {
    1: (A, "recognised", [("citizen", "submitted", T0), (C1, "returned", T0 + 2 * H),
                          ("citizen", "submitted", T0 + 30 * H), (C1, "recognised", T0 + 40 * H)]),
    2: (A, "recognised", [("citizen", "submitted", T0), (C2, "recognised", T0 + 10 * H)]),
    3: (A, "not_recognised", [("citizen", "submitted", T0), (C1, "not_recognised", T0 + 20 * H)]),
    4: (B, "returned", [("citizen", "submitted", T0), (C3, "returned", T0 + 5 * H),
                        ("citizen", "submitted", T0 + 6 * H), (C3, "returned", T0 + 8 * H)]),
    5: (B, "submitted", [("citizen", "submitted", NOW - timedelta(days=2))]),
    6: (A, "submitted", [("citizen", "submitted", NOW - timedelta(days=10))]),
    7: (A, "submitted", [("citizen", "submitted", NOW - 12 * H)]),
}  # fmt: skip


async def seeded(store: SqlStore) -> None:
    async with store.transaction() as uow:
        people = {
            number: await citizen_of(uow, str(100 + number), ward_code=ward)
            for number, (ward, _, _) in HISTORY.items()
        }
    async with store.engine.begin() as conn:
        for number, (_, status, events) in HISTORY.items():
            submitted_at = max(at for _, to, at in events if to == "submitted")
            await conn.execute(
                text(
                    "INSERT INTO declarations (id, citizen_id, year, criteria_set, status, "
                    "created_at, updated_at, submitted_at, review_round) VALUES (:id, :citizen, "
                    "2026, 'qd324-2023', :status, :at, :at, :submitted, 1)"
                ),
                {"id": number, "citizen": people[number].id, "status": status, "at": T0,
                 "submitted": submitted_at},
            )  # fmt: skip
            for actor, to_status, at in events:
                await conn.execute(
                    text(
                        "INSERT INTO declaration_events (declaration_id, actor, from_status, "
                        "to_status, round, created_at) VALUES (:d, :actor, 'x', :to, 1, :at)"
                    ),
                    {"d": number, "actor": actor, "to": to_status, "at": at},
                )


def test_nearest_rank_takes_a_time_that_happened() -> None:
    assert nearest_rank([], 0.5) is None
    assert nearest_rank([7.0], 0.9) == 7.0
    assert nearest_rank([20.0, 2.0, 10.0], 0.5) == 10.0  # rank ⌈1.5⌉ = 2 of 2, 10, 20
    assert nearest_rank([2.0, 5.0, 10.0, 20.0], 0.5) == 5.0  # rank 2, not 7.5
    assert nearest_rank([2.0, 5.0, 10.0, 20.0], 0.9) == 20.0  # rank ⌈3.6⌉ = 4


async def test_the_figures_are_the_ones_worked_out_by_hand(store: SqlStore) -> None:
    await seeded(store)
    async with store.transaction() as uow:
        city = await reviewer_analytics(uow, None, NOW, 2026)
        ward_a = await reviewer_analytics(uow, [A], NOW, 2026)
        other_year = await reviewer_analytics(uow, None, NOW, 2025)
    # waiting now: 12 hours (under a day), 2 days (1–3), 10 days (7–14)
    assert city.waiting == (1, 1, 0, 1, 0)
    # first decisions: A 2 h (c1), 10 h (c2), 20 h (c1); B 5 h (c3), the later ones not counted
    assert city.by_ward == {A: Times(3, 10.0, 20.0), B: Times(1, 5.0, 5.0)}
    assert city.by_reviewer == {C1: Times(2, 2.0, 20.0), C2: Times(1, 10.0, 10.0),
                                C3: Times(1, 5.0, 5.0)}  # fmt: skip
    assert city.overall == Times(4, 5.0, 20.0)
    # returns: declaration 1 once, 4 twice, the five others never: 3 returns over 7
    assert city.returns == {"0": 5, "1": 1, "2+": 1}
    assert (city.submitted, city.returns_total) == (7, 3)
    assert city.returns_per_declaration == 3 / 7
    # one ward's scope: only its declarations and reviewers
    assert ward_a.waiting == (1, 0, 0, 1, 0)
    assert ward_a.by_ward == {A: Times(3, 10.0, 20.0)} and C3 not in ward_a.by_reviewer
    assert (ward_a.submitted, ward_a.returns_total) == (5, 1)
    assert other_year.submitted == 0 and other_year.overall == Times(0, None, None)

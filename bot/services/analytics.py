"""Reviewer analytics, read from the declarations' own history (``declaration_events``, one row
a status change, with its actor and time): what waits and for how long, how long a declaration
waits for its first decision, per ward and per reviewer, and how often declarations are
returned. The dashboard, the report workbook and the tests read these same figures.

- **Waiting by age**: declarations submitted and not decided now, by days since submission
  (under 1, 1–3, 3–7, 7–14, 14 and more).
- **Time to first decision**: from a declaration's first submission to the first decision on
  it by staff (returned for more, recognised or not recognised), in hours; p50 and p90 are
  nearest-rank percentiles (the value at rank ⌈p·n⌉ of the n sorted times: a time that
  happened, never an interpolation). Per ward (the citizen's) and per reviewer (who took that
  first decision). Declarations still waiting for their first decision are not counted (their
  age is in the first table).
- **Returns per declaration**: of the declarations ever submitted, how many were returned
  0, 1, 2 or more times, and the returns per declaration on average.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.ports import UnitOfWork

__all__ = ["AGE_BANDS", "DECISIONS", "Analytics", "Times", "nearest_rank", "reviewer_analytics"]

AGE_BANDS = ((0, 1), (1, 3), (3, 7), (7, 14), (14, None))  # days since submission, [from, to)
DECISIONS = frozenset({"returned", "recognised", "not_recognised"})


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile by nearest rank (0 < p ≤ 1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


@dataclass(frozen=True, slots=True)
class Times:
    """Hours from first submission to first decision, for one ward or one reviewer."""

    count: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, hours: Sequence[float]) -> Times:
        return cls(len(hours), nearest_rank(hours, 0.5), nearest_rank(hours, 0.9))


@dataclass(frozen=True, slots=True)
class Analytics:
    waiting: tuple[int, ...]  # one count per AGE_BANDS band
    by_ward: dict[str, Times] = field(default_factory=dict)  # ward code → times
    by_reviewer: dict[str, Times] = field(default_factory=dict)  # actor (channel:id) → times
    overall: Times = Times(0, None, None)
    returns: dict[str, int] = field(default_factory=dict)  # "0", "1", "2+" → declarations
    submitted: int = 0  # declarations ever submitted
    returns_total: int = 0

    @property
    def returns_per_declaration(self) -> float | None:
        return self.returns_total / self.submitted if self.submitted else None


async def reviewer_analytics(
    uow: UnitOfWork, wards: Collection[str] | None, now: datetime, year: int | None = None
) -> Analytics:
    """The figures for the declarations of ``wards``' citizens (None: the city) of ``year``."""
    waiting = [0] * len(AGE_BANDS)
    for declaration, _citizen in await uow.declarations.pending(
        frozenset(wards) if wards is not None else None
    ):
        if year is not None and declaration.year != year:
            continue
        days = (now - (declaration.submitted_at or now)).total_seconds() / 86400
        for index, (low, high) in enumerate(AGE_BANDS):
            if days >= low and (high is None or days < high):
                waiting[index] += 1
                break
    first_submitted: dict[int, datetime] = {}
    decided: set[int] = set()
    returns: dict[int, int] = {}
    per_ward: dict[str, list[float]] = {}
    per_reviewer: dict[str, list[float]] = {}
    everyone: list[float] = []
    for number, ward, event in await uow.declarations.review_events(wards, year):
        if event.to_status == "submitted":
            first_submitted.setdefault(number, event.created_at)
            returns.setdefault(number, 0)
            continue
        if event.to_status not in DECISIONS or event.actor == "citizen":
            continue
        if event.to_status == "returned":
            returns[number] = returns.get(number, 0) + 1
        start = first_submitted.get(number)
        if start is None or number in decided:
            continue
        decided.add(number)
        hours = (event.created_at - start).total_seconds() / 3600
        per_ward.setdefault(ward, []).append(hours)
        per_reviewer.setdefault(event.actor, []).append(hours)
        everyone.append(hours)
    spread = {"0": 0, "1": 0, "2+": 0}
    for count in returns.values():
        spread["0" if count == 0 else "1" if count == 1 else "2+"] += 1
    return Analytics(
        waiting=tuple(waiting),
        by_ward={code: Times.of(hours) for code, hours in sorted(per_ward.items())},
        by_reviewer={actor: Times.of(hours) for actor, hours in sorted(per_reviewer.items())},
        overall=Times.of(everyone),
        returns=spread,
        submitted=len(returns),
        returns_total=sum(returns.values()),
    )

"""Work shared among a ward's reviewers. Each declaration submitted is given to one of them at
once: to the one with the fewest open declarations (submitted, given to it, not decided) of
those under their capacity and not away, the one given a declaration longest ago on a tie
(round-robin), the lower id after that. A ward with no coordinator shares its work among the
officers standing in for one. When every reviewer is away or full, the declaration stays in
the ward's pool (``assigned_to`` NULL) and every reviewer of the ward is told, as before
assignment existed. A declaration given to someone who has not decided within the hold time
goes to another reviewer (or the pool), and so do an account's open declarations when it says
``/away``. Anyone of the ward may still open and decide any of its declarations: assignment
decides who is told and whose queue it heads, not who may act."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, Staff
from bot.domain.usecases.notices import text_message
from bot.engine.types import Text, t

__all__ = [
    "DEFAULT_CAPACITY",
    "Moved",
    "assign_new",
    "choose",
    "reassign",
    "reviewers_of",
    "set_away",
    "tell_moved",
]

DEFAULT_CAPACITY = 40  # open declarations a reviewer is given at most (CDHT_REVIEW_CAPACITY)
_NEVER = datetime.min.replace(tzinfo=UTC)


async def reviewers_of(uow: UnitOfWork, ward: str) -> list[Staff]:
    """Who reviews a ward's declarations: its coordinators, else the officers standing in."""
    found = list(await uow.staff.for_ward(ward))
    return found or list(await uow.staff.stand_ins(ward))


async def choose(
    uow: UnitOfWork, ward: str, capacity: int, exclude: Collection[int] = ()
) -> Staff | None:
    """The reviewer the next declaration of ``ward`` goes to, or None (the pool). The
    candidates' records are locked first, so two submissions at once see each other's."""
    candidates = [m for m in await reviewers_of(uow, ward) if m.id not in exclude]
    if not candidates:
        return None
    await uow.staff.lock([m.id for m in candidates])
    load = await uow.declarations.open_load([m.id for m in candidates])
    free = [
        member
        for member in candidates
        if member.away_since is None
        and load.get(member.id, (0, None))[0]
        < (member.capacity if member.capacity is not None else capacity)
    ]
    if not free:
        return None
    return min(
        free,
        key=lambda m: (load.get(m.id, (0, None))[0], load.get(m.id, (0, None))[1] or _NEVER, m.id),
    )


async def assign_new(
    uow: UnitOfWork, declaration: Declaration, citizen: Citizen, now: datetime, capacity: int
) -> Staff | None:
    """Give a declaration just submitted to the reviewer ``choose`` names (None: the pool)."""
    reviewer = await choose(uow, citizen.ward_code, capacity)
    await uow.declarations.assign(declaration.id, reviewer.id if reviewer else None, now)
    return reviewer


@dataclass(frozen=True, slots=True)
class Moved:
    declaration: Declaration
    citizen: Citizen
    to: Staff | None  # None: back to the ward's pool


async def reassign(
    uow: UnitOfWork,
    found: Collection[tuple[Declaration, Citizen]],
    now: datetime,
    capacity: int,
) -> list[Moved]:
    """Give each of these open declarations to another reviewer of its ward than the one it
    was given to (or to the pool when there is none free). The hold time's caller leaves out
    those being reviewed now; ``/away`` hands over all of the account's."""
    moved = []
    for declaration, citizen in found:
        previous = declaration.assigned_to
        exclude = [previous] if previous is not None else []
        reviewer = await choose(uow, citizen.ward_code, capacity, exclude)
        await uow.declarations.assign(declaration.id, reviewer.id if reviewer else None, now)
        moved.append(Moved(declaration, citizen, reviewer))
    return moved


async def tell_moved(uow: UnitOfWork, moved: Collection[Moved], note: Text, now: datetime) -> int:
    """Tell each new reviewer of the declaration it was given (``note``, completed with the
    declaration's ``id``, the citizen's ``name`` and ``ward``), with its Review button; the pool
    is not told (its declarations head every reviewer's queue and digest). How many were
    told."""
    told = 0
    for move in moved:
        if move.to is None:
            continue
        declaration, citizen = move.declaration, move.citizen
        message = text_message(
            move.to.channel,
            move.to.external_id,
            t(
                note.key,
                **note.params,
                id=declaration.id,
                name=citizen.full_name,
                ward=citizen.ward_name,
            ),
            ((f"/review {declaration.id}", t("note.review.button")),),
            dedupe_key=f"given:{declaration.id}:{move.to.id}:{now.isoformat()}",
            citizen_id=citizen.id,
        )
        told += int(await uow.outbox.enqueue(message, now))
    return told


async def set_away(uow: UnitOfWork, member: Staff, away: bool, now: datetime, capacity: int) -> int:
    """``/away``: the reviewer is given nothing new, and its open declarations go to others of
    their wards (told at once) or to the pool; ``/away off``: it is given work again. How many
    declarations it handed over."""
    if not away:
        await uow.staff.set_away(member.id, None)
        return 0
    await uow.staff.set_away(member.id, member.away_since or now)
    moved = await reassign(uow, await uow.declarations.assigned_open(member.id), now, capacity)
    await tell_moved(uow, moved, t("note.given.away"), now)
    return len(moved)

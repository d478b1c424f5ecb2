"""A citizen's declaration of the year: opened as a draft, answered indicator by indicator (a
score, a description, evidence files, each stored as it is given, so leaving loses nothing),
then submitted to the ward's coordinators, or resubmitted to the one who returned it for more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.consents import SHARING, active_purposes
from bot.domain.criteria import CriteriaSet, Evaluation
from bot.domain.groups import GROUP_LABELS
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, EvidenceFile
from bot.domain.usecases.assignment import DEFAULT_CAPACITY, assign_new
from bot.domain.usecases.consents import give
from bot.domain.usecases.notices import change_status, notify_accounts, reviewers_for, text_message
from bot.domain.usecases.texts import result_text
from bot.engine.types import t

__all__ = [
    "EDITABLE_STATUSES",
    "Sharing",
    "Submitted",
    "attach_evidence",
    "save_note",
    "save_score",
    "start",
    "submit",
]

# a declaration the citizen may still change: not sent yet, or returned to them for more
EDITABLE_STATUSES = ("draft", "returned")


async def start(
    uow: UnitOfWork, citizen_id: int, year: int, criteria_set: str, now: datetime
) -> Declaration:
    """The citizen's declaration of ``year``, opened as a draft under ``criteria_set`` when
    there is none yet (whatever its status otherwise)."""
    declaration = await uow.declarations.for_year(citizen_id, year)
    if declaration is None:
        declaration = await uow.declarations.create(citizen_id, year, criteria_set, now)
    return declaration


async def save_score(
    uow: UnitOfWork,
    declaration_id: int,
    indicator: int,
    score: int,
    now: datetime,
    *,
    drop_adjustment: bool = False,
) -> None:
    """Store the citizen's score of one indicator. ``drop_adjustment``: the score replaces one
    the coordinator adjusted or asked about again, and their adjustment goes with it (it
    applies to the score it adjusted, not to a new one)."""
    await uow.declarations.set_score(declaration_id, indicator, score, now)
    if drop_adjustment:
        await uow.declarations.set_verified(declaration_id, indicator, None, None)


async def save_note(
    uow: UnitOfWork, declaration_id: int, indicator: int, note: str, now: datetime
) -> None:
    """Store the citizen's description of their evidence for one indicator, as a whole."""
    await uow.declarations.set_note(declaration_id, indicator, note, now)


async def attach_evidence(uow: UnitOfWork, evidence: EvidenceFile, now: datetime) -> bool:
    """Record an evidence file (stored already, by its content's hash) under its indicator;
    False when the same file is there already."""
    return await uow.declarations.add_evidence(evidence, now)


@dataclass(frozen=True, slots=True)
class Sharing:
    """The consent to share the declaration with the ward's coordinator, given as the citizen
    submits: under which notice version, on which channel."""

    notice_version: str
    channel: str


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a submission did. ``problem``: ``no_sharing`` (the citizen has not consented to
    the sharing: nothing sent) or ``locked`` (the declaration is neither a draft nor returned:
    ``declaration`` says why); else the declaration as it was before, the evaluation of the
    scores sent, the review round, the accounts told (none: no coordinator and no admin), and
    whether they are the city admins for a ward without a coordinator."""

    declaration: Declaration
    problem: Literal["no_sharing", "locked"] | None = None
    evaluation: Evaluation | None = None
    review_round: int = 0
    resubmitted: bool = False
    accounts: tuple[str, ...] = ()
    to_admins: bool = False


async def submit(
    uow: UnitOfWork,
    citizen: Citizen,
    declaration_id: int,
    criteria: CriteriaSet,
    scores: Mapping[int, int | None],
    now: datetime,
    *,
    adjusted: bool = False,
    admins: Iterable[str] = (),
    sharing: Sharing | None = None,
    capacity: int = DEFAULT_CAPACITY,
) -> Submitted:
    """Submit the citizen's declaration, or resubmit it after a return (the next review
    round), with the audit record; and tell the reviewers at once, in the same transaction:
    after a return the coordinator who returned it while they still hold the role, else the
    reviewer it is given to (``assignment``: by open load within ``capacity``), else, when
    every reviewer is away or full, all the ward's coordinators, or the city admins
    (``admins`` and those recorded) when the ward has none. ``scores`` are the scores as the
    citizen saw them (the coordinator's where ``adjusted``, which the message says);
    ``sharing``, the consent to share given with this submission, recorded first. Without
    that consent nothing is sent."""
    declaration = await uow.declarations.get(declaration_id)
    if declaration is None or declaration.citizen_id != citizen.id:
        raise LookupError(f"declaration {declaration_id} of citizen {citizen.id}")
    if sharing is not None:
        await give(uow, citizen.id, SHARING, sharing.notice_version, sharing.channel, now)
    if SHARING not in await active_purposes(uow, citizen.id):
        return Submitted(declaration, problem="no_sharing")
    if declaration.status not in EDITABLE_STATUSES:
        return Submitted(declaration, problem="locked")
    resubmitted = declaration.status == "returned"
    review_round = declaration.review_round + 1 if resubmitted else declaration.review_round
    await change_status(
        uow, declaration, "citizen", "submitted", now,
        submitted_at=now, review_round=review_round, reopened=None,
    )  # fmt: skip
    evaluation = criteria.evaluate(dict(scores))
    reviewer = await uow.staff.get(declaration.reviewer) if declaration.reviewer else None
    if resubmitted and reviewer is not None and reviewer.revoked_at is None:
        await uow.declarations.assign(declaration.id, reviewer.id, now)  # back to the same
        accounts, to_admins = [reviewer.account], False
    elif (given := await assign_new(uow, declaration, citizen, now, capacity)) is not None:
        accounts, to_admins = [given.account], False  # shared: the one it was given to
    else:
        accounts, to_admins = await reviewers_for(uow, citizen, admins)  # the pool: all
    notice = t(
        "note.submitted",
        id=declaration.id,
        name=citizen.full_name,
        group=GROUP_LABELS.get(citizen.group, GROUP_LABELS[1]),
        ward=citizen.ward_name,
        total=evaluation.total,
        max_total=criteria.max_total,
        result=result_text(criteria, evaluation),
        # after a return the total counts the coordinator's adjustments: say so
        total_label=t("note.submitted.total.adjusted") if adjusted else t("note.submitted.total"),
        round=review_round,
        no_coordinator=t("note.submitted.no_coordinator") if to_admins else "",
    )
    button = ((f"/review {declaration.id}", t("note.review.button")),)
    await notify_accounts(
        uow,
        accounts,
        lambda channel, external_id: text_message(
            channel, external_id, notice, button, citizen_id=citizen.id
        ),
        now,
    )
    return Submitted(
        declaration,
        evaluation=evaluation,
        review_round=review_round,
        resubmitted=resubmitted,
        accounts=tuple(accounts),
        to_admins=to_admins,
    )

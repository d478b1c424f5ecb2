"""A coordinator's decisions on a declaration, shared by the chat's review flow and the web
console: the same checks, the same claims on a review, the same status changes and audit
records, the same messages to the citizen. Who may decide, and where, is read from the table in
``bot.domain.permissions`` (``Action.DECIDE``). ``approve``, ``reject``, ``return_for_more``,
``adjust`` and ``undo`` record what their caller has checked (``held``, ``undoable``);
``undo_decision`` checks and records in one call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.criteria import CriteriaSet, Evaluation
from bot.domain.permissions import Action, allowed, signed_unnamed
from bot.domain.ports import UnitOfWork
from bot.domain.records import Declaration, DeclarationEvent, IndicatorAnswer, Staff
from bot.domain.usecases.notices import change_status, notify_citizen, text_message
from bot.domain.usecases.roles import Role, acting_staff_id, refusal
from bot.domain.usecases.texts import adjustments_text, result_text
from bot.domain.validation import national_phone
from bot.engine import Text, t

__all__ = [
    "UNDO_WINDOW",
    "Claimed",
    "Decider",
    "adjust",
    "approve",
    "approve_clean",
    "check",
    "claim",
    "clean_pass",
    "decider_of",
    "held",
    "reject",
    "release",
    "return_for_more",
    "signature_of",
    "undo",
    "undo_decision",
    "undoable",
    "verified_scores",
    "verified_total",
    "verify_for_org",
]

UNDO_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Decider:
    """Who decides: the account (``channel:id``), its staff record, how the citizen hears of
    them, and where the decision was made (None: the chat; "web": the web console)."""

    account: str
    staff_id: int
    signature: Text
    via: str | None = None

    def audit(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        found = dict(extra or {})
        if self.via is not None:
            found["via"] = self.via
        return found or None


async def signature_of(uow: UnitOfWork, channel: str, external_id: str) -> Text:
    """How the citizen hears who decided: the name, and phone if they gave one; unnamed, as the
    table names the role (the ward's staff for a coordinator, the association's officer, the
    city association for an admin: never «cán bộ phụ trách phường/xã» for anyone but the
    ward's own)."""
    member = await uow.staff.by_account(channel, external_id)
    if member is None or not member.display_name:
        return signed_unnamed(member.role if member is not None else "")
    name = member.display_name
    if member.phone:
        return t("note.by.phone", name=name, phone=national_phone(member.phone))
    return t("note.by", name=name)


async def check(
    uow: UnitOfWork, role: Role, declaration_id: int
) -> tuple[Declaration | None, Text | None]:
    """The declaration if this role may decide on it now; else why not."""
    if not allowed(role, Action.DECIDE):
        return None, refusal(role, Action.DECIDE)
    declaration = await uow.declarations.get(declaration_id)
    citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
    if (
        declaration is None
        or citizen is None
        or not allowed(role, Action.DECIDE, citizen.ward_code)
    ):
        # another ward's declaration reads as one that does not exist: staff cannot tell which
        # numbers exist elsewhere (as on the web console); in a ward an officer follows but
        # does not stand in for, its coordinator decides
        if citizen is not None and allowed(role, Action.CITIZENS, citizen.ward_code):
            return None, t("staff.stand_in.covered", id=declaration_id)
        return None, t("rev.error.unknown", id=declaration_id)
    if declaration.status != "submitted":
        return None, t("rev.error.not_pending", id=declaration_id)
    return declaration, None


async def decider_of(uow: UnitOfWork, role: Role, now: datetime, via: str | None = None) -> Decider:
    """The decider an authorised ``role`` acts as: its staff record (a configured admin without
    one gets one that grants nothing) and the signature the citizen reads."""
    channel, _, external_id = role.account.partition(":")
    return Decider(
        role.account,
        await acting_staff_id(uow, role, now),
        await signature_of(uow, channel, external_id),
        via,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """Who holds a review after ``claim``: this account (``mine``), else ``holder`` (None when
    the holder's record is gone)."""

    mine: bool
    holder: Staff | None = None


async def claim(
    uow: UnitOfWork, role: Role, declaration_id: int, now: datetime, hold: timedelta
) -> Claimed:
    """Take the review of a declaration ``check`` allowed, unless another account has held it
    for less than ``hold``."""
    me = await acting_staff_id(uow, role, now)
    holder = await uow.declarations.claim(declaration_id, me, now, now - hold)
    if holder == me:
        return Claimed(mine=True)
    return Claimed(mine=False, holder=await uow.staff.get(holder) if holder is not None else None)


async def release(uow: UnitOfWork, channel: str, external_id: str, declaration_id: int) -> None:
    """Give a review back (Later, /cancel): whatever the account's role is now, only its own
    claim is cleared; no staff record is created or changed."""
    member = await uow.staff.by_account(channel, external_id)
    if member is not None:
        await uow.declarations.release(declaration_id, member.id)


async def held(
    uow: UnitOfWork, role: Role, declaration_id: int, now: datetime
) -> tuple[Declaration | None, Text | None]:
    """What every decision re-checks at the moment it is made: ``check`` (the account, the
    ward, the status), and the review still held by this account."""
    declaration, problem = await check(uow, role, declaration_id)
    if declaration is None:
        return None, problem
    if declaration.claimed_by != await acting_staff_id(uow, role, now):
        return None, t("rev.error.claim_lost", id=declaration.id)
    return declaration, None


def verified_scores(answers: Mapping[int, IndicatorAnswer]) -> dict[int, int | None]:
    """The scores a decision uses: the coordinator's where adjusted, else the citizen's."""
    return {
        number: answer.verified_score if answer.verified_score is not None else answer.score
        for number, answer in answers.items()
    }


def verified_total(answers: Mapping[int, IndicatorAnswer]) -> int:
    return sum(score or 0 for score in verified_scores(answers).values())


async def adjust(
    uow: UnitOfWork,
    declaration: Declaration,
    indicator: int,
    score: int | None,
    reason: str | None,
    before: int | None,
    decider: Decider,
    now: datetime,
) -> None:
    """An adjustment is stored at once and is an audit event of its own; it survives a return
    unless the citizen changes that indicator."""
    await uow.declarations.set_verified(declaration.id, indicator, score, reason)
    change = {"from": before, "to": score, "reason": reason, "by": decider.account}
    await uow.declarations.add_event(
        DeclarationEvent(
            declaration.id,
            decider.account,
            declaration.status,
            declaration.status,
            reason,
            decider.audit({str(indicator): change}),
            declaration.review_round,
            now,
        )
    )


async def approve(
    uow: UnitOfWork,
    declaration: Declaration,
    criteria: CriteriaSet,
    scores: Mapping[int, int | None],
    decider: Decider,
    now: datetime,
) -> Evaluation:
    evaluation = criteria.evaluate(dict(scores))
    status = "recognised" if evaluation.recognised else "not_recognised"
    await change_status(
        uow,
        declaration,
        decider.account,
        status,
        now,
        adjusted=decider.audit(),
        decision="approved",
        reviewer=decider.staff_id,
        decided_by=decider.account,
        decided_at=now,
        decision_reason=None,
        claimed_by=None,
        claimed_at=None,
    )
    params = {
        "year": declaration.year,
        "total": evaluation.total,
        "max_total": criteria.max_total,
        "result": result_text(criteria, evaluation, final=True),
        "by": decider.signature,
    }
    if evaluation.recognised:
        await notify_citizen(
            uow,
            declaration.citizen_id,
            t("note.recognised", **params),
            now,
            (("/giayxacnhan", t("letter.button")),),
        )
    else:
        await notify_citizen(uow, declaration.citizen_id, t("note.not_recognised", **params), now)
    return evaluation


async def reject(
    uow: UnitOfWork, declaration: Declaration, reason: str, decider: Decider, now: datetime
) -> None:
    await change_status(
        uow,
        declaration,
        decider.account,
        "not_recognised",
        now,
        reason=reason,
        adjusted=decider.audit(),
        decision="rejected",
        decision_reason=reason,
        decided_by=decider.account,
        decided_at=now,
        reviewer=decider.staff_id,
        claimed_by=None,
        claimed_at=None,
    )
    await notify_citizen(
        uow,
        declaration.citizen_id,
        t("note.rejected", year=declaration.year, reason=reason, by=decider.signature),
        now,
    )


async def return_for_more(
    uow: UnitOfWork,
    declaration: Declaration,
    indicators: Iterable[int],
    note: str,
    decider: Decider,
    now: datetime,
    *,
    criteria: CriteriaSet | None = None,
) -> None:
    """Return chosen indicators with a note. With ``criteria`` the citizen's message also says
    what the coordinator adjusted and the total it makes (the citizen resubmits those scores)."""
    marked = sorted(set(indicators))
    adjusted: Text | str = ""
    if criteria is not None:
        adjusted = adjustments_text(await uow.declarations.answers(declaration.id), criteria)
    await change_status(
        uow,
        declaration,
        decider.account,
        "returned",
        now,
        reason=note,
        adjusted=decider.audit({"reopened": marked}),
        reopened=marked,
        return_note=note,
        reviewer=decider.staff_id,
        claimed_by=None,
        claimed_at=None,
    )
    await notify_citizen(
        uow,
        declaration.citizen_id,
        t(
            "note.returned",
            year=declaration.year,
            indicators=", ".join(map(str, marked)),
            note=note,
            adjusted=adjusted,
            by=decider.signature,
        ),
        now,
        (("/declare", t("note.returned.button")),),
    )


async def undoable(
    uow: UnitOfWork, declaration: Declaration, account: str, now: datetime
) -> str | None:
    """None when ``account`` may take back its last decision on the declaration now; else why
    not: "nothing" (not theirs, not a decision, or changed since) or "late"."""
    events = list(await uow.declarations.events(declaration.id))
    last = events[-1] if events else None
    if (
        last is None
        or last.actor != account
        or last.from_status != "submitted"
        or last.to_status not in ("recognised", "not_recognised", "returned")
        or declaration.status != last.to_status
    ):
        return "nothing"
    return "late" if now - last.created_at > UNDO_WINDOW else None


async def undo_decision(
    uow: UnitOfWork, role: Role, declaration_id: int, now: datetime, via: str | None = None
) -> str | None:
    """``/undo``: the account that decided (or returned) a declaration takes it back within
    ``UNDO_WINDOW`` (``undo``). None when done; else why not: "unknown" (no such declaration,
    or one outside the account's wards: as if there were none, see ``check``), "nothing" or
    "late" (``undoable``)."""
    declaration = await uow.declarations.get(declaration_id)
    citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
    if declaration is None or citizen is None:
        return "unknown"
    if not allowed(role, Action.DECIDE, citizen.ward_code):
        return "unknown"
    problem = await undoable(uow, declaration, role.account, now)
    if problem is not None:
        return problem
    await undo(uow, declaration, await decider_of(uow, role, now, via), now)
    return None


async def undo(uow: UnitOfWork, declaration: Declaration, decider: Decider, now: datetime) -> None:
    """Take back a decision ``undoable`` allowed: the declaration waits for review again, held
    by the decider, and the citizen is told."""
    await change_status(
        uow,
        declaration,
        decider.account,
        "submitted",
        now,
        reason="undo",
        adjusted=decider.audit(),
        decision=None,
        decision_reason=None,
        decided_by=None,
        decided_at=None,
        reopened=None,
        return_note=None,
        claimed_by=decider.staff_id,
        claimed_at=now,
    )
    await notify_citizen(uow, declaration.citizen_id, t("note.undone", year=declaration.year), now)


def clean_pass(criteria: CriteriaSet, answers: Mapping[int, IndicatorAnswer]) -> bool:
    """Whether a declaration may be approved in a batch: every indicator scored, the result a
    pass by the criteria's own rule (the total, no indicator under its minimum), and nothing
    flagged by a reviewer (no score adjusted)."""
    if any(answer.verified_score is not None for answer in answers.values()):
        return False
    evaluation = criteria.evaluate(verified_scores(answers))
    return evaluation.complete and evaluation.recognised


async def approve_clean(
    uow: UnitOfWork,
    role: Role,
    declaration_id: int,
    criteria_sets: Mapping[str, CriteriaSet],
    now: datetime,
    hold: timedelta,
    via: str | None = None,
) -> bool:
    """One declaration of a batch approval, decided and recorded as a single approval is:
    re-checked now (the account, the ward, the status, still a clean pass, not held by someone
    else), then claimed and approved. False, and nothing changed, when any check fails."""
    declaration, _ = await check(uow, role, declaration_id)
    if declaration is None:
        return False
    criteria = criteria_sets.get(declaration.criteria_set)
    answers = await uow.declarations.answers(declaration_id)
    if criteria is None or not clean_pass(criteria, answers):
        return False
    if not (await claim(uow, role, declaration_id, now, hold)).mine:
        return False  # someone is reviewing it now: theirs to decide
    fresh = await uow.declarations.get(declaration_id)
    assert fresh is not None
    decider = await decider_of(uow, role, now, via)
    await approve(uow, fresh, criteria, verified_scores(answers), decider, now)
    return True


async def verify_for_org(uow: UnitOfWork, role: Role, declaration_id: int, now: datetime) -> Text:
    """An organisation's verifier confirms a declaration of someone who named that
    organisation, for this review round: recorded (``org_verifications``), and the ward's
    reviewer told; the ward still decides. What happened, in words."""
    if not allowed(role, Action.VERIFY) or role.staff is None or role.staff.org_id is None:
        return refusal(role, Action.VERIFY)
    declaration = await uow.declarations.get(declaration_id)
    citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
    if declaration is None or citizen is None or citizen.org_id != role.staff.org_id:
        return t("org.verify.not_ours", id=declaration_id)  # not its organisation's person
    if declaration.status != "submitted":
        return t("rev.error.not_pending", id=declaration_id)
    org = await uow.orgs.get(role.staff.org_id)
    name = org.name if org is not None else str(role.staff.org_id)
    round_ = declaration.review_round
    if not await uow.orgs.verify(declaration.id, role.staff.org_id, role.account, round_, now):
        return t("org.verify.already", id=declaration.id, org=name)
    reviewer = await uow.staff.get(declaration.assigned_to) if declaration.assigned_to else None
    if reviewer is not None and reviewer.revoked_at is None:
        accounts = [reviewer.account]
    else:
        accounts = [member.account for member in await uow.staff.for_ward(citizen.ward_code)]
    note = t("org.verified.note", id=declaration.id, name=citizen.full_name, org=name)
    for account in accounts:
        channel, _, external_id = account.partition(":")
        await uow.outbox.enqueue(
            text_message(
                channel, external_id, note,
                ((f"/review {declaration.id}", t("note.review.button")),),
                citizen_id=citizen.id,
            ),
            now,
        )  # fmt: skip
    return t("org.verify.done", id=declaration.id, name=citizen.full_name, org=name)

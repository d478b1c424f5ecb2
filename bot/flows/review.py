"""The coordinator's review of a submitted declaration: indicator by indicator, then approve
(adjusting scores with a reason), reject with a reason, or return chosen indicators with a note.

Diagram: ``review.mmd`` beside this file. Every decision re-checks, on the server, that the
acting account may decide for the declaration's ward and holds the review.
"""

from __future__ import annotations

from typing import Any

from bot.engine import (
    Accept,
    Answer,
    Answered,
    ChoiceSpec,
    Expect,
    Finish,
    Flow,
    FlowContext,
    Joined,
    Outcome,
    Prompt,
    Retry,
    Step,
    Text,
    t,
)
from bot.engine.ports import Declaration
from bot.flows.common import choose, local_date, services
from bot.flows.declaration import result_text
from bot.flows.registration import GROUP_LABELS
from bot.services.criteria import CriteriaSet
from bot.services.outbox import file_message
from bot.services.staff import Role, acting_staff_id, role_of
from bot.services.validation import visible_text
from bot.services.verification import change_status, notify_citizen

__all__ = ["REVIEW_FLOW", "approve_command", "reject_command", "return_command", "review_flow"]

REVIEW_FLOW = "review"


def _criteria(ctx: FlowContext) -> CriteriaSet:
    return services(ctx).criteria[str(ctx.values["criteria_set"])]


def _ints(ctx: FlowContext, key: str) -> dict[int, Any]:
    return {int(k): v for k, v in dict(ctx.values.get(key) or {}).items()}


def _verified(ctx: FlowContext) -> dict[int, int | None]:
    scores: dict[int, int | None] = dict(_ints(ctx, "scores"))
    scores.update(_ints(ctx, "verified"))
    return scores


async def _role(ctx: FlowContext) -> Role:
    return await role_of(
        ctx.uow, ctx.identity.channel, ctx.identity.external_id, services(ctx).admins
    )


async def _check(ctx: FlowContext, declaration_id: int) -> tuple[Declaration | None, Text | None]:
    """The declaration if this account may review it now; else why not."""
    role = await _role(ctx)
    if not role.is_staff:
        return None, t("rev.error.not_staff")
    declaration = await ctx.uow.declarations.get(declaration_id)
    citizen = await ctx.uow.citizens.get(declaration.citizen_id) if declaration else None
    if declaration is None or citizen is None:
        return None, t("rev.error.unknown", id=declaration_id)
    if not role.may_review(citizen.ward_code):
        return None, t("rev.error.other_ward", id=declaration_id)
    if declaration.status != "submitted":
        return None, t("rev.error.not_pending", id=declaration_id)
    return declaration, None


async def _staff_id(ctx: FlowContext) -> int:
    """The acting account's staff record; only called once the account is known to be staff."""
    return await acting_staff_id(ctx.uow, await _role(ctx), ctx.now)


async def _guard(ctx: FlowContext) -> Text | None:
    raw = str(ctx.values.get("args", "")).strip().lstrip("#")
    if not raw.isdigit():
        return t("rev.error.usage")
    declaration, problem = await _check(ctx, int(raw))
    if declaration is None:
        return problem
    return await _claim(ctx, declaration.id)


async def _claim(ctx: FlowContext, declaration_id: int) -> Text | None:
    """Take the review for this account; who holds it when someone else does."""
    me = await _staff_id(ctx)
    holder = await ctx.uow.declarations.claim(
        declaration_id, me, ctx.now, ctx.now - services(ctx).review_hold
    )
    if holder == me:
        return None
    other = await ctx.uow.staff.get(holder) if holder is not None else None
    return t("rev.error.held", id=declaration_id, holder=other.account if other else "?")


async def _init(ctx: FlowContext) -> dict[str, Any]:
    return await _load(ctx, int(str(ctx.values["args"]).strip().lstrip("#")))


async def _load(ctx: FlowContext, declaration_id: int) -> dict[str, Any]:
    declaration = await ctx.uow.declarations.get(declaration_id)
    assert declaration is not None
    citizen = await ctx.uow.citizens.get(declaration.citizen_id)
    assert citizen is not None
    answers = await ctx.uow.declarations.answers(declaration_id)
    files: dict[str, list[list[str]]] = {}
    for item in await ctx.uow.declarations.evidence(declaration_id):
        files.setdefault(str(item.indicator), []).append(
            [item.sha256, item.kind, item.mime_type, item.original_name or item.kind]
        )
    return {
        "declaration_id": declaration_id,
        "criteria_set": declaration.criteria_set,
        "year": declaration.year,
        "round": declaration.review_round,
        "citizen_id": citizen.id,
        "name": citizen.full_name,
        "group": citizen.group,
        "ward": citizen.ward_name,
        "submitted": local_date(declaration.submitted_at) if declaration.submitted_at else "",
        "scores": {str(i): a.score for i, a in answers.items() if a.score is not None},
        "notes": {str(i): a.note for i, a in answers.items() if a.note},
        "files": files,
        "verified": {},
        "reasons": {},
        "marked": [],
    }


async def _release(ctx: FlowContext) -> None:
    """Give the review back (Later, /cancel): whatever the account's role is now, this only
    clears its own claim and never creates or changes a staff record."""
    member = await ctx.uow.staff.by_account(ctx.identity.channel, ctx.identity.external_id)
    if member is not None:
        await ctx.uow.declarations.release(int(ctx.values["declaration_id"]), member.id)


def _header(ctx: FlowContext) -> Text:
    criteria = _criteria(ctx)
    evaluation = criteria.evaluate(_verified(ctx))
    return t(
        "rev.header",
        id=ctx.values["declaration_id"],
        name=ctx.values["name"],
        group=GROUP_LABELS.get(int(ctx.values["group"]), GROUP_LABELS[1]),
        ward=ctx.values["ward"],
        year=ctx.values["year"],
        round=ctx.values["round"],
        submitted=ctx.values["submitted"],
        total=evaluation.total,
        max_total=criteria.max_total,
        result=result_text(criteria, evaluation),
    )


# -- overview --------------------------------------------------------------------------------


def _overview_prompt(ctx: FlowContext) -> Prompt:
    criteria = _criteria(ctx)
    scores, notes, files = _ints(ctx, "scores"), _ints(ctx, "notes"), _ints(ctx, "files")
    lines = tuple(
        t(
            "rev.line",
            n=i.id,
            score=scores.get(i.id, "—"),
            files=len(files.get(i.id, [])),
            note=t("rev.line.note") if i.id in notes else "",
        )
        for i in criteria.indicators
    )
    return Prompt(
        t("rev.overview", header=_header(ctx), lines=Joined(lines, "\n")),
        (
            ChoiceSpec("walk", t("rev.walk")),
            ChoiceSpec("approve", t("rev.approve")),
            ChoiceSpec("return", t("rev.return")),
            ChoiceSpec("reject", t("rev.reject")),
            ChoiceSpec("later", t("rev.later")),
        ),
        Expect.CHOICE,
    )


async def _send_files(ctx: FlowContext, indicator: int) -> None:
    """The citizen's files for one indicator, re-sent to this reviewer's chat (any channel)."""
    found = _ints(ctx, "files").get(indicator, [])
    for number, (sha256, kind, mime, name) in enumerate(found, 1):
        caption = t(
            "rev.file_caption",
            id=ctx.values["declaration_id"],
            n=indicator,
            number=number,
            count=len(found),
            name=name,
        )
        await ctx.uow.outbox.enqueue(
            file_message(
                ctx.identity.channel,
                ctx.identity.external_id,
                sha256,
                kind,
                mime,
                name,
                caption,
                citizen_id=int(ctx.values["citizen_id"]),
            ),
            ctx.now,
        )


async def _overview(ctx: FlowContext, answer: Answer) -> Outcome:
    choice = answer.choice_id
    if choice == "walk":
        first = _criteria(ctx).indicators[0].id
        await _send_files(ctx, first)
        return Accept(goto=f"item_{first}")
    if choice in ("approve", "reject", "return"):
        return await _decide(ctx, choice)
    if choice == "later":
        await _release(ctx)
        return Finish((t("rev.released", id=ctx.values["declaration_id"]),))
    return choose()


# -- one indicator ---------------------------------------------------------------------------


def _item_steps(indicator_id: int, following: int | None) -> tuple[Step, ...]:
    def item_prompt(ctx: FlowContext) -> Prompt:
        criteria = _criteria(ctx)
        indicator = criteria.indicator(indicator_id)
        scores, verified = _ints(ctx, "scores"), _ints(ctx, "verified")
        note = _ints(ctx, "notes").get(indicator_id)
        adjusted = (
            t(
                "rev.item.adjusted",
                score=verified[indicator_id],
                reason=_ints(ctx, "reasons").get(indicator_id, ""),
            )
            if indicator_id in verified
            else ""
        )
        marked = indicator_id in (ctx.values.get("marked") or [])
        return Prompt(
            t(
                "rev.item",
                n=indicator_id,
                size=criteria.size,
                indicator=indicator.wording(int(ctx.values["group"]), ctx.locale),
                score=scores.get(indicator_id, "—"),
                max=indicator.max,
                adjusted=adjusted,
                note=note or t("rev.item.no_note"),
                files=len(_ints(ctx, "files").get(indicator_id, [])),
                marked=t("rev.item.marked") if marked else "",
            ),
            (
                ChoiceSpec("next", t("rev.item.next") if following else t("rev.item.to_decision")),
                ChoiceSpec("adjust", t("rev.item.adjust")),
                ChoiceSpec("mark", t("rev.item.unmark") if marked else t("rev.item.mark")),
                ChoiceSpec("decide", t("rev.item.to_decision")),
            ),
            Expect.CHOICE,
        )

    async def item(ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id
        if choice == "next" and following is not None:
            await _send_files(ctx, following)
            return Accept(goto=f"item_{following}")
        if choice in ("next", "decide"):
            return Accept(goto="decide")
        if choice == "adjust":
            return Accept(goto=f"adjust_{indicator_id}")
        if choice == "mark":
            marked = [n for n in ctx.values.get("marked") or [] if n != indicator_id]
            if indicator_id not in (ctx.values.get("marked") or []):
                marked.append(indicator_id)
            return Accept({"marked": sorted(marked)}, goto=f"item_{indicator_id}")
        return choose()

    def adjust_prompt(ctx: FlowContext) -> Prompt:
        maximum = _criteria(ctx).indicator(indicator_id).max
        choices = [ChoiceSpec(f"s{n}", str(n)) for n in range(maximum + 1)]
        return Prompt(
            t("rev.adjust", n=indicator_id, score=_ints(ctx, "scores").get(indicator_id, "—")),
            (*choices, ChoiceSpec("keep", t("rev.adjust.keep"))),
            Expect.CHOICE,
            numeric=True,
        )

    async def adjust(ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice == "keep":
            verified = {
                k: v
                for k, v in dict(ctx.values.get("verified") or {}).items()
                if k != str(indicator_id)
            }
            return Accept({"verified": verified}, goto=f"item_{indicator_id}")
        if choice.startswith("s") and choice[1:].isdigit():
            return Accept({"adjusting": [indicator_id, int(choice[1:])]}, goto="adjust_reason")
        return Retry(t("decl.score.error.range", max=_criteria(ctx).indicator(indicator_id).max))

    return (
        Step(f"item_{indicator_id}", item_prompt, item),
        Step(f"adjust_{indicator_id}", adjust_prompt, adjust),
    )


def _reason_prompt(ctx: FlowContext) -> Prompt:
    indicator, score = ctx.values["adjusting"]
    return Prompt(t("rev.adjust.reason", n=indicator, score=score))


async def _adjust_reason(ctx: FlowContext, answer: Answer) -> Outcome:
    reason = visible_text(answer.text)
    if not 3 <= len(reason) <= 500:
        return Retry(t("rev.error.reason"))
    indicator, score = ctx.values["adjusting"]
    verified = dict(ctx.values.get("verified") or {})
    reasons = dict(ctx.values.get("reasons") or {})
    verified[str(indicator)] = score
    reasons[str(indicator)] = reason
    return Accept(
        {"verified": verified, "reasons": reasons, "adjusting": None}, goto=f"item_{indicator}"
    )


# -- the decision ----------------------------------------------------------------------------


def _decide_prompt(ctx: FlowContext) -> Prompt:
    marked = ctx.values.get("marked") or []
    return Prompt(
        t(
            "rev.decide",
            header=_header(ctx),
            marked=t("rev.decide.marked", indicators=", ".join(map(str, marked))) if marked else "",
        ),
        (
            ChoiceSpec("approve", t("rev.approve")),
            ChoiceSpec("return", t("rev.return")),
            ChoiceSpec("reject", t("rev.reject")),
            ChoiceSpec("overview", t("rev.back_to_overview")),
        ),
        Expect.CHOICE,
    )


async def _decide_step(ctx: FlowContext, answer: Answer) -> Outcome:
    choice = answer.choice_id
    if choice == "overview":
        return Accept(goto="overview")
    if choice in ("approve", "reject", "return"):
        return await _decide(ctx, choice)
    return choose()


async def _decide(ctx: FlowContext, choice: str) -> Outcome:
    if choice == "reject":
        return Accept(goto="reject_reason")
    if choice == "return":
        return Accept(goto="return_note" if ctx.values.get("marked") else "return_pick")
    return await _approve(ctx)


async def _authorized(ctx: FlowContext) -> tuple[Declaration | None, Outcome | None]:
    """Re-check, at the moment of deciding, the account, the ward, the status and the claim."""
    declaration, problem = await _check(ctx, int(ctx.values["declaration_id"]))
    if declaration is None:
        return None, Finish((problem or t("rev.error.not_staff"),))
    if declaration.claimed_by != await _staff_id(ctx):
        return None, Finish((t("rev.error.claim_lost", id=declaration.id),))
    return declaration, None


async def _approve(ctx: FlowContext) -> Outcome:
    declaration, refused = await _authorized(ctx)
    if declaration is None:
        return refused or choose()
    criteria = _criteria(ctx)
    scores, verified = _ints(ctx, "scores"), _verified(ctx)
    reasons = _ints(ctx, "reasons")
    adjusted = {}
    for indicator in criteria.indicators:
        n = indicator.id
        await ctx.uow.declarations.set_verified(declaration.id, n, verified.get(n), reasons.get(n))
        if n in _ints(ctx, "verified"):
            adjusted[str(n)] = {"from": scores.get(n), "to": verified.get(n), "reason": reasons[n]}
    evaluation = criteria.evaluate(verified)
    status = "recognised" if evaluation.recognised else "not_recognised"
    me = await _staff_id(ctx)
    await change_status(
        ctx.uow,
        declaration,
        f"{ctx.identity.channel}:{ctx.identity.external_id}",
        status,
        ctx.now,
        adjusted=adjusted or None,
        decision="approved",
        reviewer=me,
        decided_by=f"{ctx.identity.channel}:{ctx.identity.external_id}",
        decided_at=ctx.now,
        decision_reason=None,
        claimed_by=None,
        claimed_at=None,
    )
    if evaluation.recognised:
        message = t(
            "note.recognised",
            year=declaration.year,
            total=evaluation.total,
            max_total=criteria.max_total,
        )
    else:
        message = t(
            "note.not_recognised",
            year=declaration.year,
            total=evaluation.total,
            max_total=criteria.max_total,
            result=result_text(criteria, evaluation),
        )
    await notify_citizen(ctx.uow, declaration.citizen_id, message, ctx.now)
    return Finish(
        (t("rev.done.approved", id=declaration.id, result=result_text(criteria, evaluation)),)
    )


def _reject_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("rev.reject.prompt", name=ctx.values["name"]))


async def _reject_reason(ctx: FlowContext, answer: Answer) -> Outcome:
    return await _reject_with(ctx, answer.text)


async def _reject_with(ctx: FlowContext, text: str) -> Outcome:
    reason = visible_text(text)
    if not 3 <= len(reason) <= 1000:
        return Retry(t("rev.error.reason"))
    declaration, refused = await _authorized(ctx)
    if declaration is None:
        return refused or choose()
    account = f"{ctx.identity.channel}:{ctx.identity.external_id}"
    await change_status(
        ctx.uow,
        declaration,
        account,
        "not_recognised",
        ctx.now,
        reason=reason,
        decision="rejected",
        decision_reason=reason,
        decided_by=account,
        decided_at=ctx.now,
        reviewer=await _staff_id(ctx),
        claimed_by=None,
        claimed_at=None,
    )
    await notify_citizen(
        ctx.uow,
        declaration.citizen_id,
        t("note.rejected", year=declaration.year, reason=reason),
        ctx.now,
    )
    return Finish((t("rev.done.rejected", id=declaration.id),))


def _pick_prompt(ctx: FlowContext) -> Prompt:
    marked = ctx.values.get("marked") or []
    choices = tuple(
        ChoiceSpec(
            f"m{i.id}", t("rev.pick.on", n=i.id) if i.id in marked else t("rev.pick.off", n=i.id)
        )
        for i in _criteria(ctx).indicators
    )
    return Prompt(t("rev.pick"), (*choices, ChoiceSpec("done", t("rev.pick.done"))), Expect.CHOICE)


async def _return_pick(ctx: FlowContext, answer: Answer) -> Outcome:
    choice = answer.choice_id or ""
    marked = list(ctx.values.get("marked") or [])
    if choice == "done":
        if not marked:
            return Retry(t("rev.pick.none"))
        return Accept(goto="return_note")
    if choice.startswith("m") and choice[1:].isdigit():
        n = int(choice[1:])
        marked = [m for m in marked if m != n] if n in marked else [*marked, n]
        return Accept({"marked": sorted(marked)}, goto="return_pick")
    return choose()


def _note_prompt(ctx: FlowContext) -> Prompt:
    indicators = ", ".join(map(str, ctx.values.get("marked") or []))
    return Prompt(t("rev.return.prompt", indicators=indicators))


async def _return_note(ctx: FlowContext, answer: Answer) -> Outcome:
    return await _return_with(ctx, answer.text)


async def _return_with(ctx: FlowContext, text: str) -> Outcome:
    note = visible_text(text)
    if not 3 <= len(note) <= 1000:
        return Retry(t("rev.error.reason"))
    declaration, refused = await _authorized(ctx)
    if declaration is None:
        return refused or choose()
    marked = [int(n) for n in ctx.values.get("marked") or []]
    account = f"{ctx.identity.channel}:{ctx.identity.external_id}"
    await change_status(
        ctx.uow,
        declaration,
        account,
        "returned",
        ctx.now,
        reason=note,
        adjusted={"reopened": marked},
        reopened=marked,
        return_note=note,
        reviewer=await _staff_id(ctx),
        claimed_by=None,
        claimed_at=None,
    )
    indicators = ", ".join(map(str, marked))
    await notify_citizen(
        ctx.uow,
        declaration.citizen_id,
        t("note.returned", year=declaration.year, indicators=indicators, note=note),
        ctx.now,
        (("/declare", t("note.returned.button")),),
    )
    return Finish((t("rev.done.returned", id=declaration.id, indicators=indicators),))


# -- typed decisions: DUYET 12 · TRA 12 3 ghi chú · TUCHOI 12 lý do (any channel, Zalo first) --


async def _quick(ctx: FlowContext, action: str) -> Answered:
    parts = str(ctx.values.get("args") or "").split(None, 2 if action == "tra" else 1)
    if not parts or not parts[0].lstrip("#").isdigit():
        return t("rev.quick.usage")
    declaration, problem = await _check(ctx, int(parts[0].lstrip("#")))
    if declaration is None:
        return problem or t("rev.error.not_staff")
    held = await _claim(ctx, declaration.id)
    if held is not None:
        return held
    ctx.values.update(await _load(ctx, declaration.id))
    if action == "duyet":
        outcome = await _approve(ctx)
    elif action == "tuchoi":
        outcome = await _reject_with(ctx, parts[1] if len(parts) > 1 else "")
    else:
        ids = {i.id for i in _criteria(ctx).indicators}
        wanted = parts[1].replace(",", " ").split() if len(parts) > 1 else []
        marked = sorted({int(n) for n in wanted if n.isdigit() and int(n) in ids})
        if not marked or len(parts) < 3:
            await _release(ctx)
            return t("rev.quick.usage")
        ctx.values["marked"] = marked
        outcome = await _return_with(ctx, parts[2])
    if isinstance(outcome, Retry):
        await _release(ctx)
        return outcome.reason
    assert isinstance(outcome, Finish)
    return outcome.messages[0]


async def approve_command(ctx: FlowContext) -> Answered:
    return await _quick(ctx, "duyet")


async def return_command(ctx: FlowContext) -> Answered:
    return await _quick(ctx, "tra")


async def reject_command(ctx: FlowContext) -> Answered:
    return await _quick(ctx, "tuchoi")


def review_flow(criteria: CriteriaSet) -> Flow:
    ids = [i.id for i in criteria.indicators]
    items = [
        step
        for position, n in enumerate(ids)
        for step in _item_steps(n, ids[position + 1] if position + 1 < len(ids) else None)
    ]
    return Flow(
        REVIEW_FLOW,
        (
            Step("overview", _overview_prompt, _overview),
            *items,
            Step("adjust_reason", _reason_prompt, _adjust_reason),
            Step("decide", _decide_prompt, _decide_step),
            Step("reject_reason", _reject_prompt, _reject_reason),
            Step("return_pick", _pick_prompt, _return_pick),
            Step("return_note", _note_prompt, _return_note),
        ),
        init=_init,
        guard=_guard,
        entry=lambda ctx: "overview",
        on_leave=_release,
        cancel_text=t("rev.cancelled"),
    )

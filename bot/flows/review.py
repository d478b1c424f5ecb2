"""The coordinator's review of a submitted declaration: indicator by indicator (adjusting scores
with a reason, each adjustment recorded at once), then approve, reject with a reason, or return
chosen indicators with a note, each after a one-line confirmation; the same coordinator can
undo a decision within ``UNDO_WINDOW``.

Diagram: ``review.mmd`` beside this file. Every decision re-checks, on the server, that the
acting account may decide for the declaration's ward and holds the review: claims, checks and
decisions are the use cases of ``bot.domain.usecases.decisions``, which the web console calls
too; who may decide is read from ``bot.domain.permissions``. Typed decisions
("DUYET 12", "TRA 12 3 ghi chú", "TỪ CHỐI 12 lý do") open the same flow at its confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.domain.criteria import CriteriaSet
from bot.domain.groups import GROUP_LABELS
from bot.domain.records import Declaration
from bot.domain.usecases.decisions import (
    UNDO_WINDOW,
    Decider,
    adjust,
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
from bot.domain.usecases.notices import file_message
from bot.domain.usecases.roles import Role, role_of
from bot.domain.usecases.texts import reasons_text, result_text
from bot.domain.validation import visible_text
from bot.engine import (
    Accept,
    Answer,
    Answered,
    ChoiceSpec,
    Expect,
    Finish,
    Flow,
    Joined,
    Outcome,
    Prompt,
    Retry,
    Step,
    Text,
    TextCommand,
    t,
)
from bot.flows.common import Ctx, choose, local_date, national_phone, services, typed_score

__all__ = [
    "DECISION_COMMANDS",
    "QUICK_VALUES",
    "REVIEW_FLOW",
    "UNDO_WINDOW",
    "review_flow",
    "undo_command",
]

REVIEW_FLOW = "review"
# The values a typed decision opens the review with (FlowCommand.values in bot/app.py).
QUICK_VALUES = {
    "duyet": {"quick": "approve"},
    "tra": {"quick": "return"},
    "tuchoi": {"quick": "reject"},
}


def _criteria(ctx: Ctx) -> CriteriaSet:
    return services(ctx).criteria[str(ctx.values["criteria_set"])]


def _ints(ctx: Ctx, key: str) -> dict[int, Any]:
    return {int(k): v for k, v in dict(ctx.values.get(key) or {}).items()}


def _verified(ctx: Ctx) -> dict[int, int | None]:
    scores: dict[int, int | None] = dict(_ints(ctx, "scores"))
    scores.update(_ints(ctx, "verified"))
    return scores


async def _role(ctx: Ctx) -> Role:
    return await role_of(
        ctx.uow, ctx.identity.channel, ctx.identity.external_id, services(ctx).admins
    )


async def may_decide(ctx: Ctx) -> bool:
    """Typed decisions are commands only from staff accounts: one that may not decide (an
    officer with no ward to stand in for) hears why, a citizen's words stay words."""
    return (await _role(ctx)).is_staff


# "DUYET 12", "TRA 12 3 cần ảnh" (several indicators as "3,5" or "3 5"), "TỪ CHỐI 12 lý do":
# exactly these shapes, matched against the folded message, with or without diacritics.
DECISION_COMMANDS = (
    TextCommand(re.compile(r"(?P<keyword>duyet) \d+"), "duyet", may_decide),
    TextCommand(re.compile(r"(?P<keyword>tra) \d+( \d+)+ \S.*"), "tra", may_decide),
    TextCommand(re.compile(r"(?P<keyword>tu ?choi) \d+ \S.*"), "tuchoi", may_decide),
)
_INDICATORS_THEN_NOTE = re.compile(r"((?:[0-9]+\s*[,;]?\s*)*[0-9]+)\s+(\S.*)", re.DOTALL)


def _split_return(rest: str, ids: set[int]) -> tuple[list[int], str]:
    """The indicators, then the note as typed: "3,5 Cần ảnh", "3 5 Cần ảnh"."""
    match = _INDICATORS_THEN_NOTE.fullmatch(rest.strip())
    if match is None:
        return [], ""
    numbers = {int(n) for n in re.findall(r"[0-9]+", match.group(1))}
    return sorted(n for n in numbers if n in ids), match.group(2).strip()


def _quick_parts(ctx: Ctx) -> tuple[str, str] | None:
    """The declaration number and the rest of a command's arguments ("12", "3 ghi chú")."""
    raw = str(ctx.values.get("args", "")).strip()
    number, _, rest = raw.partition(" ")
    number = number.lstrip("#")
    if not number.isdigit() or len(number) > 12:
        return None
    return number, rest.strip()


async def _guard(ctx: Ctx) -> Text | None:
    parts = _quick_parts(ctx)
    quick = ctx.values.get("quick")
    if parts is None:
        return t("rev.quick.usage") if quick else t("rev.error.usage")
    if quick == "reject" and len(visible_text(parts[1])) < 3:
        return t("rev.quick.usage")
    role = await _role(ctx)
    declaration, problem = await check(ctx.uow, role, int(parts[0]))
    if declaration is None:
        return problem
    # take the review for this account; who holds it when someone else does
    held_by = await claim(ctx.uow, role, declaration.id, ctx.now, services(ctx).review_hold)
    if held_by.mine:
        return None
    other = held_by.holder
    return t("rev.error.held", id=declaration.id, holder=other.shown_as if other else "?")


async def _init(ctx: Ctx) -> dict[str, Any]:
    parts = _quick_parts(ctx)
    assert parts is not None
    values = await _load(ctx, int(parts[0]))
    quick = ctx.values.get("quick")
    if quick == "reject":
        values["reason"] = visible_text(parts[1])
    elif quick == "return":
        ids = {i.id for i in _criteria_of(ctx, values).indicators}
        marked, note = _split_return(parts[1], ids)
        values.update(marked=marked, note=visible_text(note))
    return values


def _criteria_of(ctx: Ctx, values: dict[str, Any]) -> CriteriaSet:
    return services(ctx).criteria[str(values["criteria_set"])]


def _entry(ctx: Ctx) -> str:
    quick = ctx.values.get("quick")
    if quick == "approve":
        return "confirm_approve"
    if quick == "reject":
        return "confirm_reject"
    if quick == "return":
        marked, note = ctx.values.get("marked"), str(ctx.values.get("note") or "")
        if not marked:
            return "return_pick"
        return "confirm_return" if len(note) >= 3 else "return_note"
    return "overview"


async def _load(ctx: Ctx, declaration_id: int) -> dict[str, Any]:
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
    adjusted = {i: a for i, a in answers.items() if a.verified_score is not None}
    return {
        "declaration_id": declaration_id,
        "criteria_set": declaration.criteria_set,
        "year": declaration.year,
        "round": declaration.review_round,
        "citizen_id": citizen.id,
        "name": citizen.full_name,
        "phone": national_phone(citizen.phone),
        "group": citizen.group,
        "ward": citizen.ward_name,
        "submitted": local_date(declaration.submitted_at) if declaration.submitted_at else "",
        "scores": {str(i): a.score for i, a in answers.items() if a.score is not None},
        "notes": {str(i): a.note for i, a in answers.items() if a.note},
        "files": files,
        # adjustments made in an earlier round survive a return (unless the score changed)
        "verified": {str(i): a.verified_score for i, a in adjusted.items()},
        "reasons": {str(i): a.adjust_reason or "" for i, a in adjusted.items()},
        "marked": [],
        # this round's confirmations by the organisation the citizen named
        "org_verified": [
            [v.org_name, local_date(v.created_at)]
            for v in await ctx.uow.orgs.verifications(declaration_id)
            if v.round == declaration.review_round
        ],
    }


async def _release(ctx: Ctx) -> None:
    """Give the review back (Later, /cancel): whatever the account's role is now, this only
    clears its own claim and never creates or changes a staff record."""
    await release(
        ctx.uow, ctx.identity.channel, ctx.identity.external_id, int(ctx.values["declaration_id"])
    )


def _header(ctx: Ctx) -> Text:
    criteria = _criteria(ctx)
    evaluation = criteria.evaluate(_verified(ctx))
    return t(
        "rev.header",
        id=ctx.values["declaration_id"],
        name=ctx.values["name"],
        phone=ctx.values.get("phone", ""),
        group=GROUP_LABELS.get(int(ctx.values["group"]), GROUP_LABELS[1]),
        ward=ctx.values["ward"],
        year=ctx.values["year"],
        round=ctx.values["round"],
        submitted=ctx.values["submitted"],
        total=evaluation.total,
        max_total=criteria.max_total,
        result=result_text(criteria, evaluation),
    )


def _approve_choice(ctx: Ctx) -> ChoiceSpec:
    """The approve action names the result it records: «Xác nhận kết quả: Chưa đạt (76/100)»."""
    criteria = _criteria(ctx)
    evaluation = criteria.evaluate(_verified(ctx))
    result = t("rev.result.pass") if evaluation.recognised else t("rev.result.fail")
    return ChoiceSpec(
        "approve",
        t("rev.approve", result=result, total=evaluation.total, max_total=criteria.max_total),
        "approve",  # "duyệt" typed
    )


def _summary(ctx: Ctx) -> Text:
    """One line naming the declaration: "#12 · Nguyễn Thị A · Phường Lê Chân · 86/100 · Đạt"."""
    criteria = _criteria(ctx)
    evaluation = criteria.evaluate(_verified(ctx))
    return t(
        "rev.summary",
        id=ctx.values["declaration_id"],
        name=ctx.values["name"],
        ward=ctx.values["ward"],
        total=evaluation.total,
        max_total=criteria.max_total,
        result=t("rev.result.pass") if evaluation.recognised else t("rev.result.fail"),
    )


# -- overview --------------------------------------------------------------------------------


def _overview_prompt(ctx: Ctx) -> Prompt:
    criteria = _criteria(ctx)
    scores, notes, files = _ints(ctx, "scores"), _ints(ctx, "notes"), _ints(ctx, "files")
    verified = _ints(ctx, "verified")
    lines = tuple(
        t(
            "rev.line",
            n=i.id,
            short=i.short[ctx.locale],
            score=scores.get(i.id, "—"),
            adjusted=t("rev.line.adjusted", score=verified[i.id]) if i.id in verified else "",
            files=t("rev.line.files", count=len(files[i.id])) if files.get(i.id) else "",
            note=t("rev.line.note") if i.id in notes else "",
        )
        for i in criteria.indicators
    )
    confirmed = tuple(
        t("org.verified.line", org=org, date=date)
        for org, date in ctx.values.get("org_verified") or ()
    )
    if confirmed:  # the organisation the citizen named confirmed it
        lines = (*lines, *confirmed)
    return Prompt(
        t("rev.overview", header=_header(ctx), lines=Joined(lines, "\n")),
        (
            ChoiceSpec("walk", t("rev.walk")),
            _approve_choice(ctx),
            ChoiceSpec("return", t("rev.return")),
            ChoiceSpec("reject", t("rev.reject")),
            ChoiceSpec("later", t("rev.later")),
        ),
        Expect.CHOICE,
    )


async def _send_files(ctx: Ctx, indicator: int) -> None:
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


async def _overview(ctx: Ctx, answer: Answer) -> Outcome:
    choice = answer.choice_id
    if choice == "walk":
        first = _criteria(ctx).indicators[0].id
        await _send_files(ctx, first)
        return Accept(goto=f"item_{first}")
    if choice in ("approve", "reject", "return"):
        return _decide(ctx, choice)
    if choice == "later":
        await _release(ctx)
        return Finish((t("rev.released", id=ctx.values["declaration_id"]),))
    return choose()


# -- one indicator ---------------------------------------------------------------------------


def _item_steps(indicator_id: int, following: int | None) -> tuple[Step, ...]:
    def item_prompt(ctx: Ctx) -> Prompt:
        criteria = _criteria(ctx)
        indicator = criteria.indicator(indicator_id)
        scores, verified = _ints(ctx, "scores"), _ints(ctx, "verified")
        note = _ints(ctx, "notes").get(indicator_id)
        files = len(_ints(ctx, "files").get(indicator_id, []))
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
                files=t("rev.item.files", count=files) if files else "",  # no files: not mentioned
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

    async def item(ctx: Ctx, answer: Answer) -> Outcome:
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

    def adjust_prompt(ctx: Ctx) -> Prompt:
        maximum = _criteria(ctx).indicator(indicator_id).max
        choices = [ChoiceSpec(f"s{n}", str(n)) for n in range(maximum + 1)]
        return Prompt(
            t("rev.adjust", n=indicator_id, score=_ints(ctx, "scores").get(indicator_id, "—")),
            (*choices, ChoiceSpec("keep", t("rev.adjust.keep"))),
            Expect.CHOICE,
            numeric=True,
        )

    async def adjust(ctx: Ctx, answer: Answer) -> Outcome:
        maximum = _criteria(ctx).indicator(indicator_id).max
        choice = answer.choice_id or ""
        if choice == "keep":
            if indicator_id in _ints(ctx, "verified"):
                await _record_adjustment(ctx, indicator_id, None, None)
            return Accept(_without(ctx, indicator_id), goto=f"item_{indicator_id}")
        if choice.startswith("s") and choice[1:].isdigit():
            score: int | str = int(choice[1:])
        else:
            score = typed_score(answer.text)  # "7 điểm", "bảy"
        if not isinstance(score, int) or not 0 <= score <= maximum:
            return Retry(t("decl.score.error.range", max=maximum))
        return Accept({"adjusting": [indicator_id, score]}, goto="adjust_reason")

    return (
        Step(f"item_{indicator_id}", item_prompt, item),
        Step(f"adjust_{indicator_id}", adjust_prompt, adjust),
    )


def _without(ctx: Ctx, indicator: int) -> dict[str, Any]:
    return {
        key: {k: v for k, v in dict(ctx.values.get(key) or {}).items() if k != str(indicator)}
        for key in ("verified", "reasons")
    }


async def _record_adjustment(
    ctx: Ctx, indicator: int, score: int | None, reason: str | None
) -> None:
    declaration = await ctx.uow.declarations.get(int(ctx.values["declaration_id"]))
    assert declaration is not None
    before = _verified(ctx).get(indicator)
    await adjust(
        ctx.uow, declaration, indicator, score, reason, before, await _decider(ctx), ctx.now
    )


async def _decider(ctx: Ctx) -> Decider:
    return await decider_of(ctx.uow, await _role(ctx), ctx.now)


def _reason_prompt(ctx: Ctx) -> Prompt:
    indicator, score = ctx.values["adjusting"]
    return Prompt(t("rev.adjust.reason", n=indicator, score=score))


async def _adjust_reason(ctx: Ctx, answer: Answer) -> Outcome:
    reason = visible_text(answer.text)
    if not 3 <= len(reason) <= 500:
        return Retry(t("rev.error.reason"))
    indicator, score = ctx.values["adjusting"]
    await _record_adjustment(ctx, int(indicator), int(score), reason)
    verified = dict(ctx.values.get("verified") or {})
    reasons = dict(ctx.values.get("reasons") or {})
    verified[str(indicator)] = score
    reasons[str(indicator)] = reason
    return Accept(
        {"verified": verified, "reasons": reasons, "adjusting": None}, goto=f"item_{indicator}"
    )


# -- the decision ----------------------------------------------------------------------------


def _decide_prompt(ctx: Ctx) -> Prompt:
    marked = ctx.values.get("marked") or []
    return Prompt(
        t(
            "rev.decide",
            header=_header(ctx),
            marked=t("rev.decide.marked", indicators=", ".join(map(str, marked))) if marked else "",
        ),
        (
            _approve_choice(ctx),
            ChoiceSpec("return", t("rev.return")),
            ChoiceSpec("reject", t("rev.reject")),
            ChoiceSpec("overview", t("rev.back_to_overview")),
        ),
        Expect.CHOICE,
    )


async def _decide_step(ctx: Ctx, answer: Answer) -> Outcome:
    choice = answer.choice_id
    if choice == "overview":
        return Accept(goto="overview")
    if choice in ("approve", "reject", "return"):
        return _decide(ctx, choice)
    return choose()


def _decide(ctx: Ctx, choice: str) -> Outcome:
    if choice == "reject":
        return Accept(goto="reject_reason")
    if choice == "return":
        return Accept(goto="return_note" if ctx.values.get("marked") else "return_pick")
    return Accept(goto="confirm_approve")


def _back_choices(yes: Text) -> tuple[ChoiceSpec, ...]:
    return (ChoiceSpec("confirm", yes, "yes"), ChoiceSpec("overview", t("rev.open"), "no"))


def _confirm_approve_prompt(ctx: Ctx) -> Prompt:
    """Says what approving records; a failing result is warned about before it is recorded."""
    criteria = _criteria(ctx)
    evaluation = criteria.evaluate(_verified(ctx))
    params = {"total": evaluation.total, "max_total": criteria.max_total}
    if evaluation.recognised:
        text = t("rev.confirm.approve", summary=_summary(ctx), **params)
        yes = t("rev.confirm.approve.yes", result=t("rev.result.pass"), **params)
    else:
        text = t(
            "rev.confirm.approve.fail",
            summary=_summary(ctx),
            rule=reasons_text(criteria, evaluation),
            **params,
        )
        yes = t("rev.confirm.approve.yes", result=t("rev.result.fail"), **params)
        # what the warning offers instead, each a choice here (typed on Zalo as quoted)
        return Prompt(
            text,
            (
                *_back_choices(yes),
                ChoiceSpec("return", t("rev.return")),
                ChoiceSpec("reject", t("rev.reject")),
            ),
            Expect.CHOICE,
            short=t("rev.confirm.approve.fail.short", **params),
        )
    return Prompt(text, _back_choices(yes), Expect.CHOICE)


async def _confirm_approve(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "confirm":
        return await _approve(ctx)
    if answer.choice_id in ("return", "reject"):
        return _decide(ctx, answer.choice_id)
    if answer.choice_id == "overview":
        return Accept(goto="overview")
    return choose()


async def _authorized(ctx: Ctx) -> tuple[Declaration | None, Outcome | None]:
    """Re-check, at the moment of deciding, the account, the ward, the status and the claim."""
    declaration, problem = await held(
        ctx.uow, await _role(ctx), int(ctx.values["declaration_id"]), ctx.now
    )
    if declaration is None:
        return None, Finish((problem or t("rev.error.not_staff"),))
    return declaration, None


def _undo_button(declaration_id: int) -> tuple[ChoiceSpec, ...]:
    return (ChoiceSpec(f"/undo {declaration_id}", t("rev.undo.button")),)


async def _approve(ctx: Ctx) -> Outcome:
    declaration, refused = await _authorized(ctx)
    if declaration is None:
        return refused or choose()
    criteria = _criteria(ctx)
    evaluation = await approve(
        ctx.uow, declaration, criteria, _verified(ctx), await _decider(ctx), ctx.now
    )
    params = {
        "id": declaration.id,
        "result": t("rev.result.pass") if evaluation.recognised else t("rev.result.fail"),
        "total": evaluation.total,
        "max_total": criteria.max_total,
        "minutes": int(UNDO_WINDOW.total_seconds() // 60),
    }
    done = (
        t("rev.done.approved", **params)
        if evaluation.recognised
        else t("rev.done.approved.fail", **params)
    )
    return Finish((done,), _undo_button(declaration.id))


def _reject_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("rev.reject.prompt", name=ctx.values["name"]))


async def _reject_reason(ctx: Ctx, answer: Answer) -> Outcome:
    reason = visible_text(answer.text)
    if not 3 <= len(reason) <= 1000:
        return Retry(t("rev.error.reason"))
    return Accept({"reason": reason}, goto="confirm_reject")


def _confirm_reject_prompt(ctx: Ctx) -> Prompt:
    text = t("rev.confirm.reject", summary=_summary(ctx), reason=str(ctx.values.get("reason")))
    return _rewritable(text, t("rev.confirm.reject.yes"))


async def _confirm_reject(ctx: Ctx, answer: Answer) -> Outcome:
    return await _confirmed(
        ctx, answer, lambda: _reject(ctx, str(ctx.values["reason"])), "reject_reason"
    )


def _rewritable(text: Text, yes: Text) -> Prompt:
    """A decision with a text of the coordinator's: confirm it, rewrite the text, or look again."""
    return Prompt(
        text,
        (
            ChoiceSpec("confirm", yes, "yes"),
            ChoiceSpec("rewrite", t("rev.confirm.rewrite")),
            ChoiceSpec("overview", t("rev.open"), "no"),
        ),
        Expect.CHOICE,
    )


async def _confirmed(
    ctx: Ctx, answer: Answer, act: Callable[[], Awaitable[Outcome]], rewrite: str
) -> Outcome:
    if answer.choice_id == "confirm":
        return await act()
    if answer.choice_id == "rewrite":
        return Accept(goto=rewrite)
    if answer.choice_id == "overview":
        return Accept(goto="overview")
    return choose()


async def _reject(ctx: Ctx, reason: str) -> Outcome:
    declaration, refused = await _authorized(ctx)
    if declaration is None:
        return refused or choose()
    await reject(ctx.uow, declaration, reason, await _decider(ctx), ctx.now)
    minutes = int(UNDO_WINDOW.total_seconds() // 60)
    return Finish(
        (t("rev.done.rejected", id=declaration.id, minutes=minutes),),
        _undo_button(declaration.id),
    )


def _pick_prompt(ctx: Ctx) -> Prompt:
    marked = ctx.values.get("marked") or []
    choices = tuple(
        ChoiceSpec(
            f"m{i.id}", t("rev.pick.on", n=i.id) if i.id in marked else t("rev.pick.off", n=i.id)
        )
        for i in _criteria(ctx).indicators
    )
    done = ChoiceSpec("done", t("rev.pick.done"), "done")  # «xong», «rồi»
    return Prompt(t("rev.pick"), (*choices, done), Expect.CHOICE)


async def _return_pick(ctx: Ctx, answer: Answer) -> Outcome:
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


def _note_prompt(ctx: Ctx) -> Prompt:
    indicators = ", ".join(map(str, ctx.values.get("marked") or []))
    return Prompt(t("rev.return.prompt", indicators=indicators))


async def _return_note(ctx: Ctx, answer: Answer) -> Outcome:
    note = visible_text(answer.text)
    if not 3 <= len(note) <= 1000:
        return Retry(t("rev.error.reason"))
    return Accept({"note": note}, goto="confirm_return")


def _confirm_return_prompt(ctx: Ctx) -> Prompt:
    text = t(
        "rev.confirm.return",
        summary=_summary(ctx),
        indicators=", ".join(map(str, ctx.values.get("marked") or [])),
        note=str(ctx.values.get("note")),
    )
    return _rewritable(text, t("rev.confirm.return.yes"))


async def _confirm_return(ctx: Ctx, answer: Answer) -> Outcome:
    return await _confirmed(
        ctx, answer, lambda: _return(ctx, str(ctx.values["note"])), "return_note"
    )


async def _return(ctx: Ctx, note: str) -> Outcome:
    declaration, refused = await _authorized(ctx)
    if declaration is None:
        return refused or choose()
    marked = [int(n) for n in ctx.values.get("marked") or []]
    await return_for_more(
        ctx.uow, declaration, marked, note, await _decider(ctx), ctx.now, criteria=_criteria(ctx)
    )
    minutes = int(UNDO_WINDOW.total_seconds() // 60)
    indicators = ", ".join(map(str, sorted(set(marked))))
    return Finish(
        (t("rev.done.returned", id=declaration.id, indicators=indicators, minutes=minutes),),
        _undo_button(declaration.id),
    )


# -- undo ------------------------------------------------------------------------------------


async def undo_command(ctx: Ctx) -> Answered:
    """``/undo 12``: the coordinator who decided (or returned) a declaration takes it back within
    ``UNDO_WINDOW``; it waits for review again, held by them, and the citizen is told."""
    raw = str(ctx.values.get("args") or "").strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 12:
        return t("rev.undo.usage")
    number = int(raw)
    problem = await undo_decision(ctx.uow, await _role(ctx), number, ctx.now)
    if problem == "unknown":  # as if there were none (see ``check``)
        return t("rev.undo.unknown", id=raw)
    if problem == "nothing":
        return t("rev.undo.nothing", id=number)
    if problem == "late":
        return t("rev.undo.late", id=number, minutes=int(UNDO_WINDOW.total_seconds() // 60))
    return (
        t("rev.undo.done", id=number),
        (ChoiceSpec(f"/review {number}", t("note.review.button")),),
    )


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
            Step("confirm_approve", _confirm_approve_prompt, _confirm_approve),
            Step("reject_reason", _reject_prompt, _reject_reason),
            Step("confirm_reject", _confirm_reject_prompt, _confirm_reject),
            Step("return_pick", _pick_prompt, _return_pick),
            Step("return_note", _note_prompt, _return_note),
            Step("confirm_return", _confirm_return_prompt, _confirm_return),
        ),
        init=_init,
        guard=_guard,
        entry=_entry,
        on_leave=_release,
        cancel_text=t("rev.cancelled"),
    )

"""``/broadcast``: staff compose a campaign message (text → audience → preview → send);
``/broadcast report ID`` and ``/broadcast cancel ID``. Coordinators reach their own wards only:
sending is ``bot.domain.usecases.broadcasts.broadcast``, which checks the account, the audience's
wards and the text again when it is sent."""

from __future__ import annotations

from typing import Any

from bot.domain.permissions import Action, allowed, scope_of
from bot.domain.usecases.broadcasts import (
    AUDIENCE_STATUSES,
    DELIVERY_STATES,
    MAX_TEXT,
    audience,
    broadcast,
    cancel_broadcast,
    text_problem,
    visible_broadcast,
)
from bot.domain.usecases.roles import Role, refusal, role_of
from bot.engine import (
    Accept,
    Answer,
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
    t,
    text_from_json,
    text_to_json,
)
from bot.flows.common import Ctx, choose, services

__all__ = ["BROADCAST_FLOW", "broadcast_flow"]

BROADCAST_FLOW = "broadcast"
AUDIENCE_LABELS = {
    "all": t("bc.audience.all"),
    "not_started": t("bc.audience.not_started"),
    "in_progress": t("bc.audience.in_progress"),
    "submitted": t("bc.audience.submitted"),
    "returned": t("bc.audience.returned"),
    "recognised": t("bc.audience.recognised"),
}


async def _role(ctx: Ctx) -> Role:
    return await role_of(
        ctx.uow, ctx.identity.channel, ctx.identity.external_id, services(ctx).admins
    )


async def _report_or_cancel(ctx: Ctx, role: Role, action: str, raw: str) -> Text:
    number = raw.lstrip("#")  # «#12» as the chat writes the number, or «12»
    # no broadcast has a number of more than 12 digits (20 would overflow either database)
    if not number.isdigit() or len(number) > 12:
        return t("bc.usage")
    if action == "cancel":
        withdrawn = await cancel_broadcast(ctx.uow, role, int(number))
        if withdrawn is None:
            return t("bc.unknown", id=number)
        return t("bc.cancelled_id", id=int(number), withdrawn=withdrawn)
    found = await visible_broadcast(ctx.uow, role, int(number))
    if found is None:
        return t("bc.unknown", id=number)
    counts = await ctx.uow.broadcasts.report(found.id)
    # the state in words («đang gửi»), as the web console's report page says it, not `queued`
    state = t(f"web.bc.state.{found.status}")
    report = t("bc.report", id=found.id, status=state,
               recipients=found.recipients, **counts)  # fmt: skip
    if "template" in counts or "not_in_window" in counts:  # through wards' Zalo pages
        report = t("bc.report.window", report=report, template=counts.get("template", 0),
                   not_in_window=counts.get("not_in_window", 0))  # fmt: skip
    # the other reasons, when any: each in the console's words, and whom a resend would reach
    others = [
        t("bc.report.reason", state=DELIVERY_STATES[state], count=counts[state])
        for state in ("unreachable", "rate_limited", "template_quota")
        if counts.get(state)
    ]
    if others:
        report = t("bc.report.reasons", report=report, reasons=Joined(tuple(others), "; "))
    return report


async def _guard(ctx: Ctx) -> Text | None:
    role = await _role(ctx)
    if not allowed(role, Action.BROADCAST):
        return refusal(role, Action.BROADCAST)
    action, _, rest = str(ctx.values.get("args") or "").strip().partition(" ")
    if action.lower() in ("report", "cancel"):
        return await _report_or_cancel(ctx, role, action.lower(), rest.strip())
    return None


async def _init(ctx: Ctx) -> dict[str, Any]:
    role = await _role(ctx)
    scope = scope_of(role, Action.BROADCAST)
    return {"wards": [] if scope is None else sorted(scope), "account": role.account}


def _text_prompt(ctx: Ctx) -> Prompt:
    wards = ctx.values.get("wards") or []
    scope = t("bc.scope.wards", count=len(wards)) if wards else t("bc.scope.city")
    return Prompt(t("bc.text.prompt", scope=scope))


async def _text(ctx: Ctx, answer: Answer) -> Outcome:
    text = answer.text.strip()
    problem = text_problem(text)
    if problem is not None:
        return Retry(_refusal(problem))
    return Accept({"text": text})


def _refusal(problem: str) -> Text:
    """Why ``broadcast`` (or ``text_problem``) refused, in the chat's words."""
    return {
        "not_allowed": t("rev.error.not_staff"),
        "out_of_scope": t("bc.out_of_scope"),  # the account's wards changed since it began
        "long": t("reg.text.error.long", limit=MAX_TEXT),
    }.get(problem, t("reg.text.error.empty"))  # empty, or fewer than two visible characters


def _audience_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("bc.audience.prompt"),
        tuple(ChoiceSpec(key, label) for key, label in AUDIENCE_LABELS.items()),
        Expect.CHOICE,
    )


def _filters(ctx: Ctx) -> dict[str, Any]:
    status = ctx.values.get("status")
    return audience(
        wards=ctx.values.get("wards") or (),
        status=status if status in AUDIENCE_STATUSES else None,
        year=services(ctx).year(ctx.now),
    )


async def _audience(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id not in AUDIENCE_LABELS:
        return choose()
    ctx.values["status"] = answer.choice_id
    count = await ctx.uow.broadcasts.count_audience(_filters(ctx))
    preview_notes = services(ctx).preview_notes
    notes = await preview_notes(ctx.uow, _filters(ctx), ctx.now) if preview_notes else []
    return Accept(
        {"status": answer.choice_id, "count": count, "notes": [text_to_json(n) for n in notes]}
    )


def _quiet(ctx: Ctx) -> Text:
    quiet = services(ctx).quiet_hours
    if quiet is None:
        return t("bc.quiet.none")
    start, end = quiet
    return t("bc.quiet", hours=f"{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}")


def _preview_prompt(ctx: Ctx) -> Prompt:
    preview = t(
        "bc.preview",
        quiet=_quiet(ctx),
        count=ctx.values.get("count", 0),
        audience=AUDIENCE_LABELS[str(ctx.values.get("status", "all"))],
        text=ctx.values.get("text", ""),
    )
    # what channels add (a ward's Zalo page: how many only its paid template reaches)
    notes = tuple(text_from_json(note) for note in ctx.values.get("notes") or ())
    return Prompt(
        Joined((preview, *notes), "\n\n") if notes else preview,
        (ChoiceSpec("send", t("bc.send")), ChoiceSpec("cancel", t("bc.cancel"))),
        Expect.CHOICE,
    )


async def _preview(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "cancel":
        return Finish((t("bc.discarded"),))
    if answer.choice_id != "send":
        return choose()
    continues = ctx.values.get("status") in ("not_started", "in_progress")
    buttons = (("/declare", t("note.reminder.button")),) if continues else ()
    # the account, the audience's wards and the text are re-checked when it matters
    done = await broadcast(
        ctx.uow, await _role(ctx), str(ctx.values["text"]), _filters(ctx), ctx.now,
        choices=buttons,
    )  # fmt: skip
    if done.broadcast is None:
        return Finish((_refusal(done.problem or "not_allowed"),))
    return Finish((t("bc.queued", id=done.broadcast.id, count=done.broadcast.recipients),))


def broadcast_flow() -> Flow:
    return Flow(
        BROADCAST_FLOW,
        (
            Step("text", _text_prompt, _text),
            Step("audience", _audience_prompt, _audience),
            Step("preview", _preview_prompt, _preview),
        ),
        init=_init,
        guard=_guard,
        cancel_text=t("bc.discarded"),
    )

"""``/broadcast``: staff compose a campaign message (text → audience → preview → send);
``/broadcast report ID`` and ``/broadcast cancel ID``. Coordinators reach their own wards only."""

from __future__ import annotations

from typing import Any

from bot.domain.usecases.broadcasts import AUDIENCE_STATUSES, MAX_TEXT, audience, create_broadcast
from bot.domain.usecases.roles import Role, role_of
from bot.domain.validation import visible_text
from bot.engine import (
    Accept,
    Answer,
    ChoiceSpec,
    Expect,
    Finish,
    Flow,
    Outcome,
    Prompt,
    Retry,
    Step,
    Text,
    t,
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
    broadcast = await ctx.uow.broadcasts.get(int(number))
    if broadcast is None or (not role.admin and broadcast.created_by != role.account):
        return t("bc.unknown", id=number)
    if action == "cancel":
        withdrawn = await ctx.uow.broadcasts.cancel(broadcast.id)
        return t("bc.cancelled_id", id=broadcast.id, withdrawn=withdrawn)
    counts = await ctx.uow.broadcasts.report(broadcast.id)
    # the state in words («đang gửi»), as the web console's report page says it, not `queued`
    state = t(f"web.bc.state.{broadcast.status}")
    return t("bc.report", id=broadcast.id, status=state,
             recipients=broadcast.recipients, **counts)  # fmt: skip


async def _guard(ctx: Ctx) -> Text | None:
    role = await _role(ctx)
    if not role.is_staff:
        return t("rev.error.not_staff")
    action, _, rest = str(ctx.values.get("args") or "").strip().partition(" ")
    if action.lower() in ("report", "cancel"):
        return await _report_or_cancel(ctx, role, action.lower(), rest.strip())
    return None


async def _init(ctx: Ctx) -> dict[str, Any]:
    role = await _role(ctx)
    return {"wards": [] if role.admin else sorted(role.wards), "account": role.account}


def _text_prompt(ctx: Ctx) -> Prompt:
    wards = ctx.values.get("wards") or []
    scope = t("bc.scope.wards", count=len(wards)) if wards else t("bc.scope.city")
    return Prompt(t("bc.text.prompt", scope=scope))


async def _text(ctx: Ctx, answer: Answer) -> Outcome:
    text = answer.text.strip()
    if len(visible_text(text)) < 2:
        return Retry(t("reg.text.error.empty"))
    if len(text) > MAX_TEXT:
        return Retry(t("reg.text.error.long", limit=MAX_TEXT))
    return Accept({"text": text})


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
    return Accept({"status": answer.choice_id, "count": count})


def _quiet(ctx: Ctx) -> Text:
    quiet = services(ctx).quiet_hours
    if quiet is None:
        return t("bc.quiet.none")
    start, end = quiet
    return t("bc.quiet", hours=f"{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}")


def _preview_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t(
            "bc.preview",
            quiet=_quiet(ctx),
            count=ctx.values.get("count", 0),
            audience=AUDIENCE_LABELS[str(ctx.values.get("status", "all"))],
            text=ctx.values.get("text", ""),
        ),
        (ChoiceSpec("send", t("bc.send")), ChoiceSpec("cancel", t("bc.cancel"))),
        Expect.CHOICE,
    )


async def _preview(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "cancel":
        return Finish((t("bc.discarded"),))
    if answer.choice_id != "send":
        return choose()
    role = await _role(ctx)
    if not role.is_staff:  # re-checked when it matters
        return Finish((t("rev.error.not_staff"),))
    continues = ctx.values.get("status") in ("not_started", "in_progress")
    buttons = (("/declare", t("note.reminder.button")),) if continues else ()
    created = await create_broadcast(
        ctx.uow, str(ctx.values["text"]), _filters(ctx), role.account, ctx.now, choices=buttons
    )
    return Finish((t("bc.queued", id=created.id, count=created.recipients),))


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

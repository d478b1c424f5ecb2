"""Commands for staff: /coordinator CODE, /queue, /invite (admins)."""

from __future__ import annotations

from bot.engine import Answered, ChoiceSpec, FlowContext, Joined, Text, t
from bot.flows.common import local_date, services
from bot.services.staff import create_invitation, redeem, role_of

__all__ = [
    "coordinator_command",
    "invite_command",
    "queue_command",
    "stop_command",
    "subscribe_command",
]

QUEUE_BUTTONS = 8


async def coordinator_command(ctx: FlowContext) -> Answered:
    """``/coordinator CODE``: bind this account to the wards of a one-time invitation."""
    code = str(ctx.values.get("args") or "")
    if not code:
        return t("staff.code.usage")
    done = await redeem(ctx.uow, ctx.identity.channel, ctx.identity.external_id, code, ctx.now)
    if done.problem == "locked":
        return t("staff.code.locked", minutes=done.wait_minutes)
    if done.problem is not None or done.staff is None:
        return {
            "used": t("staff.code.used"),
            "expired": t("staff.code.expired"),
        }.get(done.problem or "", t("staff.code.unknown"))
    wards = services(ctx).wards
    found = [wards.get(code) for code in sorted(done.staff.wards)]
    names = [ward.name for ward in found if ward is not None]
    if done.staff.role == "admin":
        return t("staff.bound.admin")
    return t("staff.bound", wards=", ".join(names))


async def queue_command(ctx: FlowContext) -> Answered:
    """``/queue``: the coordinator's pending declarations, oldest first."""
    role = await role_of(
        ctx.uow, ctx.identity.channel, ctx.identity.external_id, services(ctx).admins
    )
    if not role.is_staff:
        return t("rev.error.not_staff")
    pending = await ctx.uow.declarations.pending(None if role.admin else role.wards)
    if not pending:
        return t("staff.queue.empty")
    hold = services(ctx).review_hold
    lines: list[Text | str] = []
    buttons: list[ChoiceSpec] = []
    for declaration, citizen in pending:
        held = (
            declaration.claimed_by is not None
            and declaration.claimed_at is not None
            and declaration.claimed_at > ctx.now - hold
            and (role.staff is None or declaration.claimed_by != role.staff.id)
        )
        lines.append(
            t(
                "staff.queue.line",
                id=declaration.id,
                name=citizen.full_name,
                ward=citizen.ward_name,
                date=local_date(declaration.submitted_at) if declaration.submitted_at else "",
                round=declaration.review_round,
                held=t("staff.queue.held") if held else "",
            )
        )
        if len(buttons) < QUEUE_BUTTONS:
            buttons.append(
                ChoiceSpec(f"/review {declaration.id}", t("staff.queue.button", id=declaration.id))
            )
    return (
        t("staff.queue", count=len(pending), lines=Joined(tuple(lines), "\n")),
        tuple(buttons),
    )


async def stop_command(ctx: FlowContext) -> Answered:
    """``/stop`` (or "dừng"): no more broadcasts or reminders; answers to one's own actions and
    decisions on one's declaration still come."""
    await ctx.uow.identities.set_opt_out(ctx.identity.id, ctx.now)
    return t("optout.done")


async def subscribe_command(ctx: FlowContext) -> Answered:
    await ctx.uow.identities.set_opt_out(ctx.identity.id, None)
    return t("optout.back")


async def invite_command(ctx: FlowContext) -> Answered:
    """``/invite WARD`` (a name or a code) for a coordinator, ``/invite admin`` for an admin."""
    bundle = services(ctx)
    role = await role_of(ctx.uow, ctx.identity.channel, ctx.identity.external_id, bundle.admins)
    if not role.admin:
        return t("staff.invite.not_admin")
    query = str(ctx.values.get("args") or "").strip()
    if not query:
        return t("staff.invite.usage")
    account = f"{ctx.identity.channel}:{ctx.identity.external_id}"
    days = bundle.invite_valid.days
    if query.lower() == "admin":
        code = await create_invitation(ctx.uow, "admin", (), account, ctx.now, bundle.invite_valid)
        return t("staff.invite.admin_code", code=code, days=days)
    ward = bundle.wards.get(query) or bundle.wards.exact(query)
    if ward is None:
        found = bundle.wards.search(query)
        if not found:
            return t("reg.ward.error.none", query=query[:60])
        if len(found) > 1:
            buttons = tuple(ChoiceSpec(f"/invite {w.code}", w.name) for w in found)
            return (t("staff.invite.pick"), buttons)
        ward = found[0]
    code = await create_invitation(
        ctx.uow, "coordinator", (ward.code,), account, ctx.now, bundle.invite_valid
    )
    return t("staff.invite.code", code=code, ward=ward.name, days=days)

"""Commands for staff: /coordinator CODE, /queue, /away; admins' /invite, /staff and /revoke
(figures and files are in reports.py). Each checks the account's role and wards on the server
when it runs, in the table of ``bot.domain.permissions``; inviting, redeeming and revoking are
the use cases of ``bot.domain.usecases.roles``, which the web console and the command line call
too.
``/invite`` offers every role of the table (a new row is invitable with no edit here)."""

from __future__ import annotations

from bot.domain.permissions import (
    ADMIN,
    COORDINATOR,
    Action,
    allowed,
    home_text,
    invitable,
    org_bound,
    role_label,
    scope_of,
    ward_bound,
)
from bot.domain.usecases.assignment import set_away
from bot.domain.usecases.decisions import verify_for_org
from bot.domain.usecases.roles import Role, invite, redeem, refusal, revoke, role_of
from bot.domain.usecases.texts import person
from bot.domain.validation import ValidationError, normalize_free_text, validate_phone
from bot.domain.wards import MAX_QUERY
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
    fold,
    t,
)
from bot.engine.phrases import phrases
from bot.flows.common import Ctx, local_date, services
from bot.services.console import SIGN_IN_VALID, issue_sign_in

__all__ = [
    "STAFF_FLOW",
    "away_command",
    "invite_command",
    "queue_command",
    "revoke_command",
    "staff_command",
    "staff_flow",
    "staff_home",
    "stop_command",
    "subscribe_command",
    "verify_command",
    "web_command",
]

QUEUE_BUTTONS = 8
STAFF_FLOW = "staff"


async def _redeem_guard(ctx: Ctx) -> Text | None:
    """``/coordinator CODE``: the code is redeemed before the flow starts (a refused code
    starts nothing); then the new staff member says how citizens should see them."""
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
    ctx.values.update(staff_id=done.staff.id, role=done.staff.role, wards=sorted(done.staff.wards))
    if done.staff.org_id is not None:  # a verifier: its organisation's name, for the next words
        found = await ctx.uow.orgs.get(done.staff.org_id)
        ctx.values["org"] = found.name if found is not None else str(done.staff.org_id)
    return None


def _bound(ctx: Ctx) -> Text:
    """The role just redeemed, in the words of its row (a coordinator's and an admin's own)."""
    role = str(ctx.values.get("role") or "")
    if role == ADMIN:
        return t("staff.bound.admin")
    wards = _ward_names(ctx, frozenset(ctx.values.get("wards") or ()))
    label = role_label(role)
    if role == COORDINATOR or label is None:
        return t("staff.bound", wards=wards)
    if ward_bound(role):
        return t("staff.bound.role", role=label, wards=wards)
    if org_bound(role):
        return t("staff.bound.org", role=label, org=str(ctx.values.get("org") or ""))
    return t("staff.bound.role.city", role=label)


def _name_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("staff.name.prompt", bound=_bound(ctx)))


async def _display_name(ctx: Ctx, answer: Answer) -> Outcome:
    """The name citizens read under a decision and the letter prints: words before it («dạ em
    là») are dropped; a yes, a no or a question is not a name."""
    try:
        name = normalize_free_text(phrases().strip_lead_in(answer.text), 120)
    except ValidationError as exc:
        if exc.reason == "reg.text.error.long":
            return Retry(t("staff.name.error.long", limit=120))
        return Retry(t("staff.name.error"))
    if len(name) < 3 or phrases().is_dont_know(name) or phrases().is_none(name):
        return Retry(t("staff.name.error"))
    if phrases().intent(name) is not None:
        return Retry(t("staff.name.error"))
    return Accept({"display_name": name})


def _phone_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("staff.phone.prompt", name=str(ctx.values.get("display_name"))),
        (ChoiceSpec("skip", t("common.skip"), "no"),),
        Expect.TEXT,
    )


async def _contact_phone(ctx: Ctx, answer: Answer) -> Outcome:
    phone = None
    if answer.choice_id != "skip" and not phrases().is_none(answer.text):
        try:
            phone = validate_phone(answer.text)
        except ValidationError:
            return Retry(t("staff.phone.error"))
    await ctx.uow.staff.set_profile(
        int(ctx.values["staff_id"]), str(ctx.values["display_name"]), phone
    )
    return Finish((t("staff.profile.saved", name=str(ctx.values["display_name"])),))


def staff_flow() -> Flow:
    return Flow(
        STAFF_FLOW,
        (
            Step("display_name", _name_prompt, _display_name),
            Step("contact_phone", _phone_prompt, _contact_phone),
        ),
        guard=_redeem_guard,
        cancel_text=t("staff.profile.later"),
    )


_AWAY_OFF = frozenset({"off", "tat", "thoi", "het", "ve", "tro lai"})  # «/away off», «/away tắt»


async def away_command(ctx: Ctx) -> Answered:
    """``/away``: a reviewer is given no new declarations, and hands its open ones to others of
    their wards (or to the pool); ``/away off``: it is given work again (``/back`` already
    steps back in a conversation). Only an account that reviews somewhere."""
    role = await _role(ctx)
    member = role.staff
    if member is None or not allowed(role, Action.QUEUE):
        return refusal(role, Action.QUEUE) if member is None else t("staff.away.not_reviewer")
    word = fold(str(ctx.values.get("args") or "").strip())
    if word and word not in _AWAY_OFF:
        return t("staff.away.usage")
    capacity = services(ctx).review_capacity
    if word:
        if member.away_since is None:
            return t("staff.away.not_away")
        await set_away(ctx.uow, member, False, ctx.now, capacity)
        return t("staff.away.off")
    handed = await set_away(ctx.uow, member, True, ctx.now, capacity)
    return t("staff.away.on", count=handed)


async def verify_command(ctx: Ctx) -> Answered:
    """``/verify`` (an organisation's verifier): its people's declarations waiting, each with
    a button; ``/verify N``: confirm one for the organisation (the ward still decides)."""
    role = await _role(ctx)
    raw = str(ctx.values.get("args") or "").strip().lstrip("#")
    if not raw:
        if not allowed(role, Action.VERIFY) or role.staff is None or role.staff.org_id is None:
            return refusal(role, Action.VERIFY)
        waiting = await ctx.uow.declarations.of_org(role.staff.org_id, ("submitted",))
        if not waiting:
            return t("org.verify.none")
        verified = set()
        for declaration, _ in waiting:
            if any(v.round == declaration.review_round
                   for v in await ctx.uow.orgs.verifications(declaration.id)):  # fmt: skip
                verified.add(declaration.id)
        todo = [(d, c) for d, c in waiting if d.id not in verified]
        if not todo:
            return t("org.verify.all_done", count=len(waiting))
        lines = tuple(
            t("org.verify.line", id=d.id, name=c.full_name, ward=c.ward_name)
            for d, c in todo[:QUEUE_BUTTONS]
        )
        buttons = tuple(
            ChoiceSpec(f"/verify {d.id}", t("org.verify.button", id=d.id))
            for d, _ in todo[:QUEUE_BUTTONS]
        )
        return (t("org.verify.list", count=len(todo), lines=Joined(lines, "\n")), buttons)
    if not raw.isdigit() or len(raw) > 12:
        return t("org.verify.usage")
    return await verify_for_org(ctx.uow, role, int(raw), ctx.now)


async def staff_home(ctx: Ctx) -> Text | None:
    """What staff who are not citizens see instead of a registration: their commands."""
    return home_text(await _role(ctx))


async def queue_command(ctx: Ctx) -> Answered:
    """``/queue``: the coordinator's pending declarations, oldest first."""
    role = await _role(ctx)
    if not allowed(role, Action.QUEUE):
        return refusal(role, Action.QUEUE)
    pending = await ctx.uow.declarations.pending(scope_of(role, Action.QUEUE))
    if not pending:
        return t("staff.queue.empty")
    hold = services(ctx).review_hold
    me = role.staff.id if role.staff is not None else None
    # those given to this reviewer first (each list oldest first): its work, then the rest
    pending = sorted(pending, key=lambda item: item[0].assigned_to != me or me is None)
    lines: list[Text | str] = []
    buttons: list[ChoiceSpec] = []
    for declaration, citizen in pending:
        held = (
            declaration.claimed_by is not None
            and declaration.claimed_at is not None
            and declaration.claimed_at > ctx.now - hold
            and (role.staff is None or declaration.claimed_by != role.staff.id)
        )
        mine = me is not None and declaration.assigned_to == me
        lines.append(
            t(
                "staff.queue.line",
                id=declaration.id,
                name=citizen.full_name,
                ward=citizen.ward_name,
                date=local_date(declaration.submitted_at) if declaration.submitted_at else "",
                round=declaration.review_round,
                held=t("staff.queue.held") if held else t("staff.queue.mine") if mine else "",
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


async def stop_command(ctx: Ctx) -> Answered:
    """``/stop`` (or "dừng"): asks first, then no more broadcasts or reminders; answers to
    one's own actions and decisions on one's declaration still come."""
    if str(ctx.values.get("args") or "").strip() != "!":
        return (
            t("optout.confirm"),
            (
                ChoiceSpec("/stop !", t("optout.confirm.yes"), "yes"),
                ChoiceSpec("/subscribe", t("optout.confirm.no"), "no"),
            ),
        )
    await ctx.uow.identities.set_opt_out(ctx.identity.id, ctx.now)
    return t("optout.done")


async def subscribe_command(ctx: Ctx) -> Answered:
    await ctx.uow.identities.set_opt_out(ctx.identity.id, None)
    return t("optout.back")


async def invite_command(ctx: Ctx) -> Answered:
    """``/invite WARD`` (a name or a code) for a coordinator, ``/invite admin`` for an admin,
    ``/invite ROLE WARD`` (or ``/invite ROLE`` for a role held for the city) for any other row
    of the permissions table. The chat names one ward, resolved here to its code;
    ``roles.invite`` makes the code."""
    bundle = services(ctx)
    role = await _role(ctx)
    if not allowed(role, Action.INVITE):  # refused before the ward is looked up
        return t("staff.invite.not_admin")
    query = str(ctx.values.get("args") or "").strip()
    if not query or len(query) > MAX_QUERY:
        return _usage()
    kind, query = _invited_role(query)
    if org_bound(kind):  # /invite verifier 12: an organisation's, by its number
        if not query.isdigit() or len(query) > 12:
            return t("staff.invite.org_usage", name=kind)
        done = await invite(
            ctx.uow, role, kind, (), ctx.now, bundle.invite_valid, org_id=int(query)
        )
        org = await ctx.uow.orgs.get(int(query))
        if done.code is None or org is None:
            return t("staff.invite.no_org", id=query)
        return t(
            "staff.invite.org_code",
            role=_label(kind),
            org=org.name,
            code=done.code,
            days=bundle.invite_valid.days,
        )
    if not ward_bound(kind):
        done = await invite(ctx.uow, role, kind, (), ctx.now, bundle.invite_valid)
        if done.code is None:
            return t("staff.invite.not_admin")
        if kind == ADMIN:
            return t("staff.invite.admin_code", code=done.code, days=bundle.invite_valid.days)
        return t(
            "staff.invite.role_code.city",
            role=_label(kind),
            code=done.code,
            days=bundle.invite_valid.days,
        )
    if kind != COORDINATOR and fold(query) in _EVERY_WARD:  # /invite officer tất cả
        codes = tuple(ward.code for ward in bundle.wards.all())
        done = await invite(ctx.uow, role, kind, codes, ctx.now, bundle.invite_valid)
        if done.code is None:
            return t("staff.invite.not_admin")
        return t(
            "staff.invite.role_code",
            role=_label(kind),
            code=done.code,
            ward=t("staff.wards.all", count=len(codes)),
            days=bundle.invite_valid.days,
        )
    ward = bundle.wards.get(query) or bundle.wards.exact(query)
    if ward is None:
        found = bundle.wards.search(query)
        if not found:
            return t("reg.ward.error.none", query=query[:60])
        if len(found) > 1:
            command = "/invite" if kind == COORDINATOR else f"/invite {kind}"
            buttons = tuple(ChoiceSpec(f"{command} {w.code}", w.name) for w in found)
            return (t("staff.invite.pick"), buttons)
        ward = found[0]
    done = await invite(ctx.uow, role, kind, (ward.code,), ctx.now, bundle.invite_valid)
    if done.code is None:
        return t("staff.invite.not_admin")
    days = bundle.invite_valid.days
    if kind == COORDINATOR:
        return t("staff.invite.code", code=done.code, ward=ward.name, days=days)
    return t("staff.invite.role_code", role=_label(kind), code=done.code, ward=ward.name, days=days)


# the words that name every unit of the city after a ward's role other than a coordinator's
_EVERY_WARD = frozenset({"tat ca", "toan thanh pho", "ca thanh pho", "all", "all wards"})


def _invited_role(query: str) -> tuple[str, str]:
    """The role ``/invite``'s words name and the ward query left. The first word names a role
    when it is a row of the table (typed with or without diacritics, in any case) and what
    follows fits it: a ward for a role held for wards, nothing for one held for the city. Else
    the whole query is a coordinator's ward (``/invite Lê Chân``)."""
    word, _, rest = query.partition(" ")
    rest = rest.strip()
    for name in invitable():
        if fold(word) == fold(name) and bool(rest) == (ward_bound(name) or org_bound(name)):
            return name, rest
    return COORDINATOR, query


def _usage() -> Text:
    """How to use ``/invite``; the table's roles beyond a coordinator and an admin are listed
    after the usual words."""
    extra = [name for name in invitable() if name not in (COORDINATOR, ADMIN)]
    if not extra:
        return t("staff.invite.usage")
    lines = tuple(
        t("staff.invite.usage.role", name=name, role=_label(name))
        if ward_bound(name)
        else t("staff.invite.usage.role.org", name=name, role=_label(name))
        if org_bound(name)
        else t("staff.invite.usage.role.city", name=name, role=_label(name))
        for name in extra
    )
    return t("staff.invite.usage.more", usage=t("staff.invite.usage"), roles=Joined(lines, "\n"))


def _label(name: str) -> Text | str:
    return role_label(name) or name


async def _role(ctx: Ctx) -> Role:
    return await role_of(
        ctx.uow, ctx.identity.channel, ctx.identity.external_id, services(ctx).admins
    )


def _ward_names(ctx: Ctx, codes: frozenset[str]) -> Text | str:
    """The wards' names; every unit of the city in a few words (an officer's, not 114 names),
    with the decisions it may take in their place when its record says so."""
    wards = services(ctx).wards
    if codes and len(codes) >= len(wards):
        return t("staff.wards.all", count=len(wards))
    return ", ".join(w.name for code in sorted(codes) if (w := wards.get(code)) is not None)


async def staff_command(ctx: Ctx) -> Answered:
    """``/staff`` (admins): the staff accounts with their ids, roles, state and wards."""
    bundle = services(ctx)
    if not allowed(await _role(ctx), Action.LIST_STAFF):
        return t("staff.admin_only")
    members = await ctx.uow.staff.all()
    names = {member.account: member.display_name for member in members}
    lines: list[Text | str] = [
        t("staff.list.configured", person=person(account, names.get(account)))
        for account in bundle.admins
    ]
    for member in members:
        label = role_label(member.role)
        if label is None or member.account in bundle.admins:
            continue  # records that grant nothing; configured admins are listed above
        lines.append(
            t(
                "staff.list.line",
                id=member.id,
                person=person(member.account, member.display_name),
                role=label,
                wards=_ward_names(ctx, member.wards) or "—",
                decides=t("staff.list.decides") if member.decides else "",
                state=t("staff.state.revoked") if member.revoked_at else t("staff.state.active"),
            )
        )
    if not lines:
        return t("staff.list.empty")
    return t("staff.list", lines=Joined(tuple(lines), "\n"))


async def revoke_command(ctx: Ctx) -> Answered:
    """``/revoke ID`` (admins): take a coordinator's or an invited admin's role away; the
    reviews the account holds are released and it is told (``roles.revoke``)."""
    role = await _role(ctx)
    if not allowed(role, Action.REVOKE):  # refused before the number is read
        return t("staff.admin_only")
    raw = str(ctx.values.get("args") or "").strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 12:
        return t("staff.revoke.usage")
    return await revoke(ctx.uow, role, int(raw), services(ctx).admins, ctx.now)


async def web_command(ctx: Ctx) -> Answered:
    """``/web``: a one-time link to the web console (10 minutes, single use), for staff."""
    role = await _role(ctx)
    if not allowed(role, Action.WEB_CONSOLE):
        return refusal(role, Action.WEB_CONSOLE)
    base = services(ctx).public_base_url
    if not base:
        return t("web.chat.unavailable")
    token = await issue_sign_in(ctx.uow, role.account, ctx.now)
    minutes = int(SIGN_IN_VALID.total_seconds() // 60)
    return t("web.chat.link", url=f"{base.rstrip('/')}/console/signin/{token}", minutes=minutes)

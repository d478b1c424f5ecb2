"""The staff page, for the accounts the permissions table lets list, invite and revoke staff:
who holds a role, an invitation code with its QR code (``roles.invite``, for any role of the
permissions table but ``none``, offered in the table's order), and revocation in two steps
(``roles.revoke``: its rules and its message to the account, as in the chat). People are named
by their display name and channel, never by an account id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import segno
from aiohttp import web

from bot.domain.permissions import COORDINATOR, NONE, Action, allowed, invitable, scope_of
from bot.domain.usecases.roles import invite, revoke
from bot.engine import t
from bot.handlers.web_console.auth import Visit
from bot.handlers.web_console.view import Pages, number

__all__ = ["StaffPages"]

_ADMIN_ONLY = t("web.staff.admin_only")
_UNKNOWN = t("web.staff.unknown")
# the chat's outcomes of a revocation, in the console's words: the person by name
_REVOKE_NOTES = {
    "staff.revoke.done": t("web.staff.revoke.done"),
    "staff.revoke.already": t("web.staff.revoke.already"),
    "staff.revoke.configured": t("web.staff.revoke.configured"),
    "staff.revoke.unknown": _UNKNOWN,
}


class StaffPages(Pages):
    """``/console/staff``, its invitation form and its revoke buttons."""

    async def page(self, request: web.Request, visit: Visit, **extra: Any) -> web.StreamResponse:
        if not allowed(visit.role, Action.LIST_STAFF):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        async with self.app.store.transaction() as uow:
            members = [m for m in await uow.staff.all() if m.role != NONE]
            orgs = [(o.id, f"{o.name} ({self.app.wards.name_of(o.ward_code)})")
                    for o in await uow.orgs.all()]  # fmt: skip
        say = self.view.say
        rows = [
            {
                "id": m.id,
                "name": m.display_name or say(visit.locale, t("web.staff.unnamed")),
                "channel": self.view.channel_words(visit.locale, m.channel),
                "role": self.view.role_words(visit.locale, m.role),
                "wards": self.view.ward_names(visit.locale, m.wards),
                "decides": m.decides,
                "revoked": m.revoked_at is not None,
                "configured": m.account in self.app.services.admins,
                "self": m.account == visit.account,
            }
            for m in members
        ]
        return self.view.render(
            visit.locale, "staff.html", visit=visit, page="staff", rows=rows,
            roles=[(name, self.view.role_words(visit.locale, name)) for name in invitable()],
            wards=self.view.ward_choices(scope_of(visit.role, Action.INVITE)), orgs=orgs,
            code=extra.get("code"), qr=extra.get("qr"), note=extra.get("note"),
        )  # fmt: skip

    async def invite(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        form = await request.post()
        chosen = str(form.get("role") or "")
        kind = chosen if chosen in invitable() else COORDINATOR  # the form's first choice
        known = [w.code for w in self.app.wards.all()]
        wards = [str(w) for w in form.getall("ward", []) if str(w) in set(known)]
        if form.get("all_wards") == "yes" and kind != COORDINATOR:  # an officer's whole city
            wards = known
        decides = form.get("decides") == "yes"
        raw_org = str(form.get("org") or "")
        org_id = int(raw_org) if raw_org.isdigit() and len(raw_org) <= 12 else None
        async with self.app.store.transaction() as uow:
            invited = await invite(
                uow,
                visit.role,
                kind,
                wards,
                datetime.now(UTC),
                self.app.services.invite_valid,
                decides,
                org_id,
            )
        if invited.problem == "not_allowed":
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        if invited.problem == "no_org":  # a verifier is an organisation's: choose which
            return self.view.refusal(visit.locale, t("web.staff.no_org"), 400)
        if invited.problem == "cannot_decide":  # only an officer stands in for a coordinator
            role = self.view.role_words(visit.locale, kind)
            return self.view.refusal(visit.locale, t("web.staff.cannot_decide", role=role), 400)
        if invited.code is None:  # "no_ward": a ward's role is invited for a ward at least
            if kind == COORDINATOR:
                return self.view.refusal(visit.locale, t("web.staff.no_ward"), 400)
            role = self.view.role_words(visit.locale, kind)
            return self.view.refusal(visit.locale, t("web.staff.no_ward.role", role=role), 400)
        qr = segno.make(f"/coordinator {invited.code}", error="m").svg_data_uri(scale=5)
        return await self.page(request, visit, code=invited.code, qr=qr)

    async def revoke(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """Two steps, both on the server: the list's button shows who loses what (nothing
        changes); only the confirmation's form, with ``confirm=yes``, revokes."""
        if not allowed(visit.role, Action.REVOKE):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        staff_id = number(request)
        form = await request.post()
        locale = visit.locale
        async with self.app.store.transaction() as uow:
            member = await uow.staff.get(staff_id)
            if member is None or member.role == NONE:
                return self.view.refusal(locale, _UNKNOWN, 404)
            name = self.view.person(locale, member.account, member)
            if form.get("confirm") != "yes":
                return self.view.render(
                    locale, "staff_revoke.html", visit=visit, page="staff", id=member.id,
                    name=name, role=self.view.role_words(locale, member.role),
                    wards=self.view.ward_names(locale, member.wards),
                )  # fmt: skip
            note = await revoke(
                uow, visit.role, staff_id, self.app.services.admins, datetime.now(UTC)
            )
        web_note = _REVOKE_NOTES.get(note.key)  # else the chat's own words (none expected)
        if web_note is not None:
            said = self.view.say(locale, web_note, name=name)
        else:
            said = self.view.say(locale, note)
        return await self.page(request, visit, note=said)

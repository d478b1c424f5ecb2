"""The campaign's lists the city admins keep, on the web console: the organisations citizens
name as workplace or school (as ``cdht org add|list``), and the reminder steps with how many
people each would remind now (as ``cdht reminder list|add|set``). Both for the accounts the
permissions table lets invite (organisations: their verifiers are invited) and manage others'
broadcasts (reminders: campaign-wide messages), that is the city admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.domain.permissions import Action, allowed
from bot.domain.records import REMINDER_EVENTS
from bot.domain.validation import ValidationError, normalize_free_text
from bot.engine import t
from bot.handlers.web_console.auth import Visit
from bot.handlers.web_console.view import Pages

__all__ = ["CampaignPages"]

_ADMIN_ONLY = t("web.staff.admin_only")
_BAD = t("web.campaign.bad")
# each event's words: a step of it («3 ngày sau …») and the kind, for a new step
_STEP_WORDS = {
    "registered": t("web.reminders.event.registered"),
    "idle": t("web.reminders.event.idle"),
    "returned": t("web.reminders.event.returned"),
}
_KIND_WORDS = {
    "registered": t("web.reminders.kind.registered"),
    "idle": t("web.reminders.kind.idle"),
    "returned": t("web.reminders.kind.returned"),
}


class CampaignPages(Pages):
    """``/console/orgs`` and ``/console/reminders``, each a list and its forms."""

    async def orgs(self, request: web.Request, visit: Visit, **extra: Any) -> web.StreamResponse:
        if not allowed(visit.role, Action.INVITE):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        async with self.app.store.transaction() as uow:
            found = await uow.orgs.all()
        rows = [
            {"id": o.id, "name": o.name, "ward": self.app.wards.name_of(o.ward_code)} for o in found
        ]
        return self.view.render(
            visit.locale, "orgs.html", visit=visit, page="orgs", rows=rows,
            wards=self.view.ward_choices(None), note=extra.get("note"),
        )  # fmt: skip

    async def add_org(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        if not allowed(visit.role, Action.INVITE):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        form = await request.post()
        ward = str(form.get("ward") or "")
        try:
            name = normalize_free_text(str(form.get("name") or ""), 150)
        except ValidationError:
            return self.view.refusal(visit.locale, _BAD, 400)
        if self.app.wards.get(ward) is None:
            return self.view.refusal(visit.locale, _BAD, 400)
        async with self.app.store.transaction() as uow:
            added = await uow.orgs.add(name, ward, visit.account, datetime.now(UTC))
        done = (
            t("web.orgs.added", name=name, id=added.id)
            if added is not None
            else t("web.orgs.exists", name=name)
        )
        note = self.view.say(visit.locale, done)
        return await self.orgs(request, visit, note=note)

    async def reminders(
        self, request: web.Request, visit: Visit, **extra: Any
    ) -> web.StreamResponse:
        if not allowed(visit.role, Action.OTHERS_BROADCASTS):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        scheduler = self.app.scheduler()
        now = datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            steps = await scheduler.steps(uow, now)
            counts = await scheduler.step_counts(uow, now)
        say = self.view.say
        rows = [
            {
                "id": s.id,
                "event": say(visit.locale, _STEP_WORDS[s.event].key, days=s.days)
                if s.event in _STEP_WORDS
                else f"{s.event} {s.days}",
                "days": s.days,
                "active": s.active,
                "count": counts.get(s.id, 0),
            }
            for s in steps
        ]
        events = [(e, say(visit.locale, _KIND_WORDS[e].key)) for e in REMINDER_EVENTS]
        return self.view.render(
            visit.locale, "reminders.html", visit=visit, page="reminders", rows=rows,
            events=events, note=extra.get("note"),
        )  # fmt: skip

    async def change_reminder(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """One step's days and state, or a new step (``id`` empty)."""
        if not allowed(visit.role, Action.OTHERS_BROADCASTS):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        form = await request.post()
        raw_days, raw_id = str(form.get("days") or ""), str(form.get("id") or "")
        if not raw_days.isdigit() or not 1 <= int(raw_days) <= 365:
            return self.view.refusal(visit.locale, _BAD, 400)
        days, now = int(raw_days), datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            if raw_id.isdigit():
                done = await uow.broadcasts.set_step(
                    int(raw_id), days, form.get("active") == "yes", visit.account, now
                )
            elif str(form.get("event") or "") in REMINDER_EVENTS:
                event = str(form.get("event"))
                done = await uow.broadcasts.add_step(event, days, visit.account, now) is not None
            else:
                return self.view.refusal(visit.locale, _BAD, 400)
        if not done:
            return self.view.refusal(visit.locale, t("web.reminders.taken"), 409)
        raise web.HTTPSeeOther("/console/reminders")

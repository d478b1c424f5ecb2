"""The broadcasts' pages: composing a message to an audience of citizens (counted before it is
sent), sending or scheduling it, its report, and cancelling it. Sending goes through
``bot.domain.usecases.broadcasts.broadcast``, the use case the chat and the command line call:
a coordinator speaks to their own wards only."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from bot.domain.calendar import VN_TIME
from bot.domain.collation import collation_key
from bot.domain.permissions import Action, scope_of
from bot.domain.usecases.broadcasts import (
    AUDIENCE_STATUSES,
    MISSED,
    audience,
    broadcast,
    cancel_broadcast,
    resend_missed,
    text_problem,
    visible_broadcast,
)
from bot.domain.usecases.roles import Role
from bot.engine import Text, t
from bot.handlers.registry import served_channels
from bot.handlers.web_console.auth import Visit
from bot.handlers.web_console.view import Pages, local, number, sent_state, xlsx_response
from bot.services.spreadsheet import broadcast_workbook

__all__ = ["Broadcasts"]

_BAD = t("web.bc.bad")
_UNKNOWN = t("web.bc.unknown")
_STATES: Mapping[str, Text] = {
    "scheduled": t("web.bc.state.scheduled"),
    "queued": t("web.bc.state.queued"),
    "cancelled": t("web.bc.state.cancelled"),
}
# the campaign messages that invite the citizen to declare carry the chat's button for it
_DECLARE = (("/declare", t("note.reminder.button")),)


class Broadcasts(Pages):
    """``/console/broadcasts`` and ``/console/broadcasts/<number>``."""

    def _audience(
        self, form: MultiMapping[object], role: Role
    ) -> tuple[dict[str, Any] | None, str]:
        """The audience a form asks for, kept within the account's wards; and the form's
        text, to show again."""
        scope = scope_of(role, Action.BROADCAST)
        offered = {code for code, _ in self.view.ward_choices(scope)}
        wards = [str(w) for w in form.getall("ward", []) if str(w) in offered]
        if scope is not None and not wards:
            wards = sorted(offered)  # a coordinator speaks to their own wards only
        group = str(form.get("group") or "")
        status = str(form.get("status") or "")
        channel = str(form.get("channel") or "")
        locale = str(form.get("language") or "")
        try:
            filters = audience(
                wards=wards,
                group=int(group) if group in ("1", "2", "3", "4") else None,
                status=status if status in AUDIENCE_STATUSES else None,
                channel=channel if channel in {c.name for c in served_channels()} else None,
                locale=locale if locale in ("vi", "en") else None,
                year=self.app.services.year(datetime.now(UTC)),
            )
        except ValueError:
            return None, ""
        return filters, str(form.get("text") or "").strip()

    def _form(
        self, visit: Visit, filters: dict[str, Any] | None, text: str, **extra: Any
    ) -> web.Response:
        quiet = self.app.services.quiet_hours
        hours = (
            f"{quiet[0] // 60:02d}:{quiet[0] % 60:02d}–{quiet[1] // 60:02d}:{quiet[1] % 60:02d}"
            if quiet
            else ""
        )
        return self.view.render(
            visit.locale, "broadcasts.html", visit=visit, page="broadcasts",
            wards=self.view.ward_choices(scope_of(visit.role, Action.BROADCAST)),
            filters=filters or {}, text=text, statuses=AUDIENCE_STATUSES, quiet=hours,
            channels=[(c.name, self.view.say(visit.locale, c.display_name))
                      for c in served_channels()],
            **extra,
        )  # fmt: skip

    async def compose(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        return self._form(visit, None, "", count=None)

    async def preview(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        filters, text = self._audience(await request.post(), visit.role)
        if filters is None or text_problem(text) is not None:
            return self.view.refusal(visit.locale, _BAD, 400)
        preview_notes = self.app.services.preview_notes
        async with self.app.store.transaction() as uow:
            count = await uow.broadcasts.count_audience(filters)
            notes = await preview_notes(uow, filters, datetime.now(UTC)) if preview_notes else []
        said = [self.view.say(visit.locale, note) for note in notes]
        return self._form(visit, filters, text, count=count, notes=said)

    async def send(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        form = await request.post()
        filters, text = self._audience(form, visit.role)
        if filters is None:
            return self.view.refusal(visit.locale, _BAD, 400)
        at = None
        raw_at = str(form.get("at") or "")
        if raw_at:
            try:
                at = datetime.fromisoformat(raw_at).replace(tzinfo=VN_TIME).astimezone(UTC)
            except ValueError:
                return self.view.refusal(visit.locale, _BAD, 400)
        invites = filters.get("status") in ("not_started", "in_progress")
        async with self.app.store.transaction() as uow:
            sent = await broadcast(
                uow, visit.role, text, filters, datetime.now(UTC), at=at,
                choices=_DECLARE if invites else (),
            )  # fmt: skip
        if sent.broadcast is None:  # its text: empty, short or long (the audience is in scope)
            return self.view.refusal(visit.locale, _BAD, 400)
        raise web.HTTPSeeOther(f"/console/broadcasts/{sent.broadcast.id}")

    async def report(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        broadcast_id = number(request)
        say = self.view.say
        async with self.app.store.transaction() as uow:
            found = await visible_broadcast(uow, visit.role, broadcast_id)
            if found is None:
                return self.view.not_found(visit.locale, _UNKNOWN)
            counts = await uow.broadcasts.report(broadcast_id)
        rows = [
            {"id": name, "label": say(visit.locale, sent_state(name)), "count": value}
            for name, value in counts.items()
        ]
        state = _STATES.get(found.status)
        missed = sum(counts.get(name, 0) for name in MISSED)  # whom «send again» would reach
        return self.view.render(
            visit.locale, "broadcast.html", visit=visit, page="broadcasts", broadcast=found,
            counts=rows, scheduled=local(found.scheduled_at), missed=missed,
            state=say(visit.locale, state) if state is not None else found.status,
        )  # fmt: skip

    async def resend(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """«Send again to the N who did not receive it»: the same use case as ``cdht broadcast
        resend ID --yes``, its count shown on the button before sending."""
        broadcast_id = number(request)
        async with self.app.store.transaction() as uow:
            done = await resend_missed(uow, visit.role, broadcast_id, datetime.now(UTC), True)
        if done.problem == "unknown":
            return self.view.not_found(visit.locale, _UNKNOWN)
        raise web.HTTPSeeOther(f"/console/broadcasts/{broadcast_id}")

    async def delivery_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """The delivery states for each unit, as ``cdht broadcast report ID --xlsx`` writes it."""
        broadcast_id = number(request)
        async with self.app.store.transaction() as uow:
            found = await visible_broadcast(uow, visit.role, broadcast_id)
            if found is None:
                return self.view.not_found(visit.locale, _UNKNOWN)
            counts = await uow.broadcasts.report(broadcast_id)
            by_ward = await uow.broadcasts.report_by_ward(broadcast_id)
        wards = self.app.wards
        named = [(wards.name_of(code, code) if code else "—", n) for code, n in by_ward.items()]
        named.sort(key=lambda row: collation_key(row[0]))
        buffer = io.BytesIO()
        broadcast_workbook(buffer, found, list(counts), named, self.app.translator, visit.locale)
        return xlsx_response(buffer.getvalue(), f"tin-{broadcast_id}-theo-phuong.xlsx")

    async def cancel(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        broadcast_id = number(request)
        async with self.app.store.transaction() as uow:
            if await cancel_broadcast(uow, visit.role, broadcast_id) is None:
                return self.view.not_found(visit.locale, _UNKNOWN)
        raise web.HTTPSeeOther(f"/console/broadcasts/{broadcast_id}")

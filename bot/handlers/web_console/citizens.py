"""The citizens' pages: finding a citizen by name or phone within the visit's wards, and one
citizen's history (registration, corrections, consents, each declaration with its history,
the messages the campaign sent them), for staff of their ward."""

from __future__ import annotations

from aiohttp import web

from bot.domain.consents import PURPOSE_LABELS
from bot.domain.permissions import Action, allowed, scope_of
from bot.domain.validation import national_phone
from bot.engine import t
from bot.handlers.web_console.auth import Visit
from bot.handlers.web_console.view import Pages, iso_local, local, number, sent_state
from bot.services.mydata import citizen_data

__all__ = ["Citizens"]

# the profile fields a correction names (``field.<name>`` in the catalogs)
_FIELDS = (
    "full_name", "birth_year", "phone", "group", "ward", "residential_group", "gender",
    "workplace",
)  # fmt: skip


class Citizens(Pages):
    """``/console/citizens`` and ``/console/citizens/<number>``."""

    async def search(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        query = (request.query.get("q") or "").strip()[:60]
        found = []
        if len(query) >= 2:
            scope = scope_of(visit.role, Action.CITIZENS)
            async with self.app.store.transaction() as uow:
                for person in await uow.citizens.search(query, scope):
                    declarations = await uow.declarations.of_citizen(person.id)
                    found.append(
                        {
                            "id": person.id,
                            "name": person.full_name,
                            "birth_year": person.birth_year,
                            "phone": national_phone(person.phone),
                            "ward": self.app.wards.name_of(person.ward_code),
                            "registered": local(person.registered_at),
                            "declarations": [
                                {
                                    "id": d.id,
                                    "year": d.year,
                                    "status": self.view.say(
                                        visit.locale, f"xlsx.status.{d.status}"
                                    ),
                                }
                                for d in declarations
                            ],
                        }
                    )
        return self.view.render(
            visit.locale, "citizens.html", visit=visit, page="citizens", q=query, found=found
        )

    async def history(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        citizen_id = number(request)
        locale = visit.locale
        say = self.view.say
        async with self.app.store.transaction() as uow:
            person = await uow.citizens.get(citizen_id)
            if person is None or not allowed(visit.role, Action.CITIZENS, person.ward_code):
                return self.view.not_found(locale)
            data = await citizen_data(uow, person)
            members, own = await self.view.people(uow, person.id)
            declarations = []
            for found in await uow.declarations.of_citizen(person.id):
                events = await uow.declarations.events(found.id)
                declarations.append(
                    {
                        "id": found.id,
                        "year": found.year,
                        "status": say(locale, f"xlsx.status.{found.status}"),
                        "history": self.view.history(locale, events, members, own),
                    }
                )
        corrections = [
            {
                "at": iso_local(c["at"]),
                "field": say(locale, f"field.{c['field']}")
                if c["field"] in _FIELDS
                else say(locale, t("web.citizen.field.other")),
            }
            for c in data["corrections"]
        ]
        messages = [
            {
                "at": iso_local(m["queued_at"]),
                "status": say(locale, sent_state(m["status"])),
                "broadcast": m["broadcast"],
            }
            for m in data["campaign_messages"]
        ]
        return self.view.render(
            locale, "citizen.html", visit=visit, page="citizens", person=person,
            ward=self.app.wards.name_of(person.ward_code), phone=national_phone(person.phone),
            registered=local(person.registered_at), consents=data["consents"],
            declarations=declarations, corrections=corrections, messages=messages,
            when=iso_local,
            purposes={key: say(locale, text) for key, text in PURPOSE_LABELS.items()},
        )  # fmt: skip

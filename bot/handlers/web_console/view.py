"""What every page of the web console shares: the templates and their texts, people and
records in the words an official reads (a name and a channel, never an account id; Viet Nam's
time), the refusals, and the forms' lists of wards.

Templates call ``_("id", **params)`` for a catalog text: ``_`` is one of Babel's default
keywords, so ``make messages`` finds their ids with Jinja2's own extractor (locales/babel.cfg).
Python code names its texts with ``t("id")`` where it says them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from bot.domain.calendar import VN_TIME
from bot.domain.collation import collation_key
from bot.domain.permissions import Account, Action, allowed, role_label
from bot.domain.ports import UnitOfWork
from bot.domain.records import DeclarationEvent, Staff
from bot.domain.usecases.broadcasts import DELIVERY_STATES
from bot.domain.usecases.texts import channel_text
from bot.engine import Text, t

if TYPE_CHECKING:
    from bot.app import App

__all__ = [
    "HERE",
    "LOCALES",
    "LOCALE_COOKIE",
    "UNKNOWN",
    "XLSX",
    "NavLink",
    "Pages",
    "View",
    "iso_local",
    "local",
    "number",
    "sent_state",
    "xlsx_response",
]

HERE = Path(__file__).resolve().parent
LOCALES = ("vi", "en")
LOCALE_COOKIE = "cdht_lang"
UNKNOWN = t("web.unknown")
# what became of a message to a citizen (a broadcast's counts, a citizen's messages)
_SENT_STATES: Mapping[str, Text] = DELIVERY_STATES


@dataclass(frozen=True, slots=True)
class NavLink:
    """A channel's page in the console's navigation, shown to the accounts the permissions
    table allows ``action``; ``page`` is what that page renders with to mark it current."""

    path: str
    label: Text
    action: Action
    page: str


class View:
    """The console's rendering and wording, over the app's translator and ward list.

    ``channel_templates``: the folders of the channels' own templates, by channel name; a
    channel's page names its template ``<name>/<file>`` and extends the console's
    ``base.html``, which the console's own folder answers first."""

    def __init__(self, app: App, channel_templates: Mapping[str, Path] | None = None) -> None:
        self.app = app
        channels = {
            name: jinja2.FileSystemLoader(folder)
            for name, folder in (channel_templates or {}).items()
        }
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(HERE / "templates"), jinja2.PrefixLoader(channels)]
            ),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.nav_links: list[NavLink] = []  # the channels' pages (ChannelPages.nav)
        # what a page offers is read from the permissions table, as the server checks it
        self.env.globals.update(allowed=allowed, Action=Action, channel_nav=self._channel_nav)

    def _channel_nav(self, account: Account, locale: str) -> list[dict[str, str]]:
        """The channels' pages ``account`` may open, as the navigation shows them."""
        return [
            {"path": link.path, "page": link.page, "text": self.say(locale, link.label)}
            for link in self.nav_links
            if allowed(account, link.action)
        ]

    def say(self, locale: str, text: Text | str, **params: object) -> str:
        """A catalog text in ``locale``; a ``Text`` (with texts nested in its parameters, as
        the use cases return them) is rendered as the chat renders it."""
        if isinstance(text, str):
            text = t(text)
        merged = Text(text.key, {**dict(text.params), **params})
        return self.app.engine.text(locale, merged)

    def render(
        self, locale: str, template: str, http_status: int = 200, **context: Any
    ) -> web.Response:
        def say(key: str, **params: object) -> str:
            return self.app.translator(locale, key, **params)

        html = self.env.get_template(template).render(_=say, locale=locale, **context)
        response = web.Response(text=html, status=http_status, content_type="text/html")
        # the security headers are the web server's, on every response (bot/handlers/web.py)
        response.headers["Cache-Control"] = "no-store"
        return response

    def locale_of(self, request: web.Request) -> str:
        """The language asked for (``?lang=``, then the cookie), else the bot's default."""
        wanted = request.query.get("lang") or request.cookies.get(LOCALE_COOKIE)
        return wanted if wanted in LOCALES else self.app.settings.default_locale

    def refusal(self, locale: str, text: Text | str, status: int = 403) -> web.Response:
        return self.render(
            locale, "message.html", http_status=status, message=self.say(locale, text)
        )

    def not_found(self, locale: str, text: Text = UNKNOWN) -> web.Response:
        """The one answer for a record this visit may not see, whether it is unknown or
        another ward's (or another person's broadcast): the same status, the same page, so the
        answer tells no one which numbers exist elsewhere."""
        return self.refusal(locale, text, 404)

    # -- people and records in words ----------------------------------------------------------

    def channel_words(self, locale: str, channel: str) -> str:
        """A channel as an official reads it: «Telegram», «Zalo», not ``console``."""
        return self.say(locale, channel_text(channel))

    def person(self, locale: str, account: str, member: Staff | None = None) -> str:
        """A staff account in words: «Vũ Thị Mai (Telegram)», never ``telegram:123``."""
        words = self.channel_words(locale, account.partition(":")[0])
        if member is not None and member.display_name:
            return self.say(locale, t("web.person", name=member.display_name, channel=words))
        return self.say(locale, t("web.person.unnamed", channel=words))

    def role_words(self, locale: str, role: str) -> str:
        """A staff role as officials name it: «cán bộ phụ trách», «quản trị viên»."""
        return self.say(locale, role_label(role) or f"staff.role.{role}")

    def ward_choices(self, scope: frozenset[str] | None) -> list[tuple[str, str]]:
        """The wards a form offers (``scope``: None for the whole city), as (code, name) in
        Vietnamese order."""
        wards = self.app.wards
        codes = sorted(scope) if scope is not None else [w.code for w in wards.all()]
        names = ((code, wards.name_of(code)) for code in codes)
        return sorted(names, key=lambda item: collation_key(item[1]))

    def ward_names(self, locale: str, codes: frozenset[str]) -> str:
        """The wards' names in order; every unit of the city in a few words (an officer's)."""
        wards = self.app.wards
        if codes and len(codes) >= len(wards):
            return self.say(locale, t("staff.wards.all", count=len(wards)))
        return ", ".join(sorted(wards.name_of(c) for c in codes)) or "—"

    async def people(
        self, uow: UnitOfWork, citizen_id: int
    ) -> tuple[dict[str, Staff], frozenset[str]]:
        """Staff records by account, and the citizen's own accounts (to name actors)."""
        members = {member.account: member for member in await uow.staff.all()}
        accounts = await uow.identities.for_citizen(citizen_id)
        return members, frozenset(f"{a.channel}:{a.external_id}" for a in accounts)

    def history(
        self,
        locale: str,
        events: Iterable[DeclarationEvent],
        members: dict[str, Staff],
        citizen: frozenset[str],
    ) -> list[dict[str, Any]]:
        """A declaration's audit records as an official reads them (local time, names, words)."""
        return [
            {
                "at": local(event.created_at),
                "by": self._actor(locale, event.actor, members, citizen),
                "change": self._change(locale, event),
                "reason": self._reason(locale, event.reason),
                "web": bool(event.adjusted and event.adjusted.get("via") == "web"),
            }
            for event in events
        ]

    def _actor(
        self, locale: str, actor: str, members: dict[str, Staff], citizen: frozenset[str]
    ) -> str:
        """Who made a change of a declaration, in words: «Người dân», a staff member's name."""
        if actor == "citizen" or actor in citizen:
            return self.say(locale, t("web.actor.citizen"))
        if actor in members:
            return self.person(locale, actor, members[actor])
        if actor == "cli":
            return self.say(locale, t("web.actor.cli"))
        if ":" in actor:
            return self.person(locale, actor)
        return self.say(locale, t("web.actor.system"))

    def _change(self, locale: str, event: DeclarationEvent) -> str:
        if event.reason == "undo":  # what `undo` in bot/domain/usecases/decisions.py records
            return self.say(locale, t("web.history.undo"))
        if event.to_status != event.from_status:
            return self.say(locale, f"xlsx.status.{event.to_status}")
        changes = [
            self.say(locale, t("web.history.adjusted", n=key, before=_dash(c.get("from")),
                               after=_dash(c.get("to"))))
            if c.get("to") is not None
            else self.say(locale, t("web.history.unadjusted", n=key))
            for key, c in sorted((event.adjusted or {}).items())
            if key.isdigit() and isinstance(c, dict)
        ]  # fmt: skip
        return "; ".join(changes) or self.say(locale, t("web.review.adjusted"))

    def _reason(self, locale: str, reason: str | None) -> str:
        """The reason a person wrote; the system's own reasons in words."""
        if reason in (None, "", "undo"):
            return ""
        if reason == "consent withdrawn":
            return self.say(locale, t("web.history.consent_withdrawn"))
        return str(reason)


class Pages:
    """A group of the console's pages: the app they read, the view they answer with."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.app = view.app


def number(request: web.Request) -> int:
    """The record number in the path; 404 for anything else."""
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    return int(raw)


def sent_state(state: str) -> Text:
    """What became of a message to a citizen, in words."""
    return _SENT_STATES.get(state, t("web.bc.count.other"))


def local(moment: datetime | None) -> str:
    """A moment in Viet Nam's time, as officials write it: «05/03/2026 14:30»."""
    return moment.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M") if moment else ""


def iso_local(value: str | None) -> str:
    return local(datetime.fromisoformat(value)) if value else ""


def _dash(value: object) -> str:
    return "—" if value is None else str(value)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: bytes, name: str) -> web.Response:
    """An Excel file to download, kept by no cache (it may name citizens)."""
    response = web.Response(body=data, content_type=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

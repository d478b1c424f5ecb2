"""The staff's web console, on the bot's one web server (aiohttp, Jinja2 templates, no script
from elsewhere: it works on a closed network).

Sign-in without passwords: a staff member sends ``/web`` in the chat and gets a one-time link
(valid 10 minutes, single use, only its hash stored); opening it starts a session whose cookie
is HttpOnly, SameSite=Strict, Secure over HTTPS, and which ends after 8 hours idle or on sign
out. Every request re-reads the account's role and wards (``role_of``) on the server, every
form carries the session's CSRF token, and decisions go through ``bot.flows.decisions``, the
chat's own code, recorded as made on the web. Pages name what they do and record in words an
official reads: the approve button names the result it records, opening a declaration says
who holds its review until when (Asia/Ho_Chi_Minh), revoking asks first, people are named by
their display name and channel, never by an account id. Also here: the public verification
page of a recognition letter (``/v/<token>``).
"""

from __future__ import annotations

import hmac
import io
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import segno
from aiohttp import web

from bot.domain.calendar import VN_TIME
from bot.domain.collation import collation_key
from bot.domain.consents import PURPOSE_LABELS
from bot.domain.permissions import Action, allowed
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, DeclarationEvent, Staff
from bot.domain.usecases.broadcasts import AUDIENCE_STATUSES, MAX_TEXT, audience, create_broadcast
from bot.domain.usecases.decisions import (
    UNDO_WINDOW,
    Decider,
    adjust,
    approve,
    check,
    reject,
    return_for_more,
    signature_of,
    undo,
    undoable,
    verified_scores,
)
from bot.domain.usecases.roles import Role, acting_staff_id, create_invitation, role_of, staff_names
from bot.domain.usecases.texts import result_text
from bot.domain.validation import national_phone, visible_text
from bot.engine import Text, t
from bot.flows.staff import revoke_member
from bot.services.console import secret_hash
from bot.services.evidence import sniff
from bot.services.export import record_pages
from bot.services.letters import ward_in_sentence
from bot.services.lists import LISTS, list_rows, write_list
from bot.services.mydata import citizen_data
from bot.services.report import (
    COUNT_COLUMNS,
    DECIMAL,
    Report,
    build_report,
    percent,
    target_share,
)
from bot.services.spreadsheet import export_workbook, report_workbook

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers.web import WebServer

__all__ = ["WebConsole"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
IDLE_LIMIT = timedelta(hours=8)
COOKIE = "cdht_session"
LOCALE_COOKIE = "cdht_lang"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Visit:
    """A signed-in request: the account, its role now, the session's CSRF token, the language."""

    account: str
    role: Role
    csrf: str
    locale: str
    session: str  # the hash of the cookie's secret
    name: str = ""  # the account as the page names it: display name and channel, in words


Page = Callable[[web.Request, Visit], Awaitable[web.StreamResponse]]


class WebConsole:
    def __init__(self, app: App, web_server: WebServer) -> None:
        self.app = app
        self.secure = (app.settings.public_base_url or "").startswith("https://")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        add = web_server.add
        add("GET", "/console/signin/{token}", self.sign_in_page)
        add("POST", "/console/signin/{token}", self.sign_in)
        add("POST", "/console/signout", self._page(self.sign_out))
        add("GET", "/console/", self._page(self.queue))
        add("GET", "/console/d/{id}", self._page(self.review))
        add("POST", "/console/d/{id}/adjust", self._page(self.adjust))
        add("POST", "/console/d/{id}/decide", self._page(self.decide))
        add("POST", "/console/d/{id}/undo", self._page(self.undo))
        add("POST", "/console/d/{id}/release", self._page(self.release))
        add("GET", "/console/file/{id}/{sha256}", self._page(self.file))
        add("GET", "/console/dashboard", self._page(self.dashboard))
        add("GET", "/console/report.xlsx", self._page(self.report_xlsx))
        add("GET", "/console/export.xlsx", self._page(self.export_xlsx))
        add("GET", "/console/list/{name}.xlsx", self._page(self.list_xlsx))
        add("GET", "/console/citizens", self._page(self.citizens))
        add("GET", "/console/citizens/{id}", self._page(self.citizen_history))
        add("GET", "/console/broadcasts", self._page(self.broadcasts))
        add("POST", "/console/broadcasts/preview", self._page(self.broadcast_preview))
        add("POST", "/console/broadcasts/send", self._page(self.broadcast_send))
        add("GET", "/console/broadcasts/{id}", self._page(self.broadcast_report))
        add("POST", "/console/broadcasts/{id}/cancel", self._page(self.broadcast_cancel))
        add("GET", "/console/staff", self._page(self.staff))
        add("POST", "/console/staff/invite", self._page(self.staff_invite))
        add("POST", "/console/staff/{id}/revoke", self._page(self.staff_revoke))
        add("GET", "/console/static/console.css", self.stylesheet)
        add("GET", "/v/{token}", self.verify)

    # -- plumbing ---------------------------------------------------------------------------

    def say(self, locale: str, text: Text | str, **params: object) -> str:
        """A catalog text in ``locale``; a ``Text`` (with texts nested in its parameters, as
        the chat's use cases return them) is rendered as the chat renders it."""
        if isinstance(text, str):
            text = t(text)
        merged = Text(text.key, {**dict(text.params), **params})
        return self.app.engine.text(locale, merged)

    def channel_words(self, locale: str, channel: str) -> str:
        """A channel as an official reads it: «Telegram», «Zalo», not ``console``."""
        known = ("telegram", "zalo", "console")
        return self.say(locale, f"web.channel.{channel if channel in known else 'other'}")

    def person(self, locale: str, account: str, member: Staff | None = None) -> str:
        """A staff account in words: «Vũ Thị Mai (Telegram)», never ``telegram:123``."""
        channel = account.partition(":")[0]
        words = self.channel_words(locale, channel)
        if member is not None and member.display_name:
            return self.say(locale, "web.person", name=member.display_name, channel=words)
        return self.say(locale, "web.person.unnamed", channel=words)

    def actor(
        self, locale: str, actor: str, members: dict[str, Staff], citizen: frozenset[str]
    ) -> str:
        """Who made a change of a declaration, in words: «Người dân», a staff member's name."""
        if actor == "citizen" or actor in citizen:
            return self.say(locale, "web.actor.citizen")
        if actor in members:
            return self.person(locale, actor, members[actor])
        if actor == "cli":
            return self.say(locale, "web.actor.cli")
        if ":" in actor:
            return self.person(locale, actor)
        return self.say(locale, "web.actor.system")

    def history(
        self,
        locale: str,
        events: Iterable[DeclarationEvent],
        members: dict[str, Staff],
        citizen: frozenset[str],
    ) -> list[dict[str, Any]]:
        """A declaration's audit records as an official reads them (local time, names, words)."""
        found = []
        for event in events:
            found.append(
                {
                    "at": _local(event.created_at),
                    "by": self.actor(locale, event.actor, members, citizen),
                    "change": self._change(locale, event),
                    "reason": self._reason(locale, event.reason),
                    "web": bool(event.adjusted and event.adjusted.get("via") == "web"),
                }
            )
        return found

    def _change(self, locale: str, event: DeclarationEvent) -> str:
        if event.reason == "undo":  # `undo` in bot/flows/decisions.py records this reason
            return self.say(locale, "web.history.undo")
        if event.to_status != event.from_status:
            return self.say(locale, f"xlsx.status.{event.to_status}")
        changes = [
            self.say(locale, "web.history.adjusted", n=key, before=_dash(c.get("from")),
                     after=_dash(c.get("to")))
            if c.get("to") is not None
            else self.say(locale, "web.history.unadjusted", n=key)
            for key, c in sorted((event.adjusted or {}).items())
            if key.isdigit() and isinstance(c, dict)
        ]  # fmt: skip
        return "; ".join(changes) or self.say(locale, "web.review.adjusted")

    def _reason(self, locale: str, reason: str | None) -> str:
        """The reason a person wrote; the system's own reasons in words."""
        if reason in (None, "", "undo"):
            return ""
        if reason == "consent withdrawn":
            return self.say(locale, "web.history.consent_withdrawn")
        return str(reason)

    async def _people(
        self, uow: UnitOfWork, citizen_id: int
    ) -> tuple[dict[str, Staff], frozenset[str]]:
        """Staff records by account, and the citizen's own accounts (to name actors)."""
        members = {member.account: member for member in await uow.staff.all()}
        accounts = await uow.identities.for_citizen(citizen_id)
        return members, frozenset(f"{a.channel}:{a.external_id}" for a in accounts)

    def render(
        self, locale: str, template: str, http_status: int = 200, **context: Any
    ) -> web.Response:
        def say(key: str, **params: object) -> str:
            return self.app.translator(locale, key, **params)

        html = self.env.get_template(template).render(say=say, locale=locale, **context)
        response = web.Response(text=html, status=http_status, content_type="text/html")
        # the security headers are the web server's, on every response (bot/handlers/web.py)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _locale(self, request: web.Request) -> str:
        wanted = request.query.get("lang") or request.cookies.get(LOCALE_COOKIE)
        return wanted if wanted in ("vi", "en") else self.app.settings.default_locale

    def refusal(self, locale: str, key: Text | str, status: int = 403) -> web.Response:
        return self.render(
            locale, "message.html", http_status=status, message=self.say(locale, key)
        )

    def not_found(self, locale: str, key: str = "web.unknown") -> web.Response:
        """The one answer for a record this visit may not see, whether it is unknown or
        another ward's (or another person's broadcast): the same status, the same page, so the
        answer tells no one which numbers exist elsewhere."""
        return self.refusal(locale, key, 404)

    def _page(self, page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            locale = self._locale(request)
            cookie = request.cookies.get(COOKIE)
            if not cookie:
                return self.refusal(locale, "web.signed_out", 401)
            now = datetime.now(UTC)
            session_hash = secret_hash(cookie)
            async with self.app.store.transaction() as uow:
                session = await uow.web.session(session_hash)
                if session is None or now - session.last_seen > IDLE_LIMIT:
                    return self.refusal(locale, "web.signed_out", 401)
                channel, _, external_id = session.account.partition(":")
                role = await role_of(uow, channel, external_id, self.app.services.admins)
                if not role.is_staff:  # revoked since: the session ends here
                    await uow.web.end(session_hash, now)
                    return self.refusal(locale, "web.not_staff")
                if now - session.last_seen > timedelta(minutes=1):
                    await uow.web.touch(session_hash, now)
                member = role.staff or await uow.staff.by_account(channel, external_id)
            if request.method == "POST":
                form = await request.post()
                sent = str(form.get("csrf") or "")
                if not hmac.compare_digest(sent, session.csrf):
                    return self.refusal(locale, "web.csrf")
            name = self.person(locale, session.account, member)
            visit = Visit(session.account, role, session.csrf, locale, session_hash, name)
            response = await page(request, visit)
            if "lang" in request.query and request.query["lang"] in ("vi", "en"):
                response.set_cookie(
                    LOCALE_COOKIE, request.query["lang"], httponly=True, samesite="Strict",
                    secure=self.secure, path="/",
                )  # fmt: skip
            return response

        return handle

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(HERE / "static" / "console.css")
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    def _wards(self, role: Role) -> frozenset[str] | None:
        return None if role.admin else role.wards

    # -- signing in and out -----------------------------------------------------------------

    async def sign_in_page(self, request: web.Request) -> web.StreamResponse:
        """Opening the link only shows a button: the chat apps fetch a link's page for its
        preview (Telegram's and Zalo's servers do, for a link in a message), and a GET that
        used the link up would leave the staff member a used link. The POST signs in."""
        locale = self._locale(request)
        token = request.match_info["token"]
        if len(token) > 100:
            return self.refusal(locale, "web.link.invalid")
        return self.render(locale, "signin.html", action=f"/console/signin/{token}")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        locale = self._locale(request)
        token = request.match_info["token"]
        now = datetime.now(UTC)
        if len(token) > 100:
            return self.refusal(locale, "web.link.invalid")
        async with self.app.store.transaction() as uow:
            account = await uow.web.use_sign_in(secret_hash(token), now)
            if account is None:
                return self.refusal(locale, "web.link.invalid")
            channel, _, external_id = account.partition(":")
            role = await role_of(uow, channel, external_id, self.app.services.admins)
            if not role.is_staff:
                return self.refusal(locale, "web.not_staff")
            secret = secrets.token_urlsafe(32)
            await uow.web.add_session(secret_hash(secret), account, secrets.token_urlsafe(24), now)
        redirect = web.HTTPSeeOther("/console/")
        redirect.set_cookie(
            COOKIE, secret, httponly=True, samesite="Strict", secure=self.secure, path="/",
            max_age=int(IDLE_LIMIT.total_seconds()),
        )  # fmt: skip
        raise redirect

    async def sign_out(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        async with self.app.store.transaction() as uow:
            await uow.web.end(visit.session, datetime.now(UTC))
        response = self.refusal(visit.locale, "web.signed_out.done", 200)
        response.del_cookie(COOKIE, path="/")
        return response

    # -- the queue --------------------------------------------------------------------------

    async def queue(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        scope = self._wards(visit.role)
        ward = request.query.get("ward") or ""
        min_days = request.query.get("age") or ""
        now = datetime.now(UTC)
        hold = self.app.services.review_hold
        async with self.app.store.transaction() as uow:
            found = await uow.declarations.with_status(("submitted",), scope)
            holders = {m.id: m for m in await uow.staff.all()}
        rows = []
        for declaration, citizen in found:
            if ward and citizen.ward_code != ward:
                continue
            age = (now - (declaration.submitted_at or now)).days
            if min_days.isdigit() and age < int(min_days):
                continue
            holder = ""
            member = holders.get(declaration.claimed_by or -1)
            claimed = declaration.claimed_at
            if member is not None and claimed is not None and claimed + hold > now:
                holder = self.say(
                    visit.locale, "web.queue.held_until",
                    holder=self.person(visit.locale, member.account, member),
                    until=_local(claimed + hold),
                )  # fmt: skip
            rows.append(
                {
                    "id": declaration.id,
                    "name": citizen.full_name,
                    "ward": self.app.wards.name_of(citizen.ward_code),
                    "submitted": _local(declaration.submitted_at),
                    "age": age,
                    "round": declaration.review_round,
                    "holder": holder,
                }
            )
        released = request.query.get("released", "")
        note = ""
        if released.isdigit() and any(r["id"] == int(released) and not r["holder"] for r in rows):
            note = self.say(visit.locale, "web.queue.released", id=int(released))
        return self.render(
            visit.locale, "queue.html", visit=visit, rows=rows,
            wards=self._ward_choices(visit.role), ward=ward, age=min_days, page="queue",
            note=note,
        )  # fmt: skip

    # -- one declaration --------------------------------------------------------------------

    async def _decider(self, uow: UnitOfWork, visit: Visit, now: datetime) -> Decider:
        channel, _, external_id = visit.account.partition(":")
        return Decider(
            visit.account,
            await acting_staff_id(uow, visit.role, now),
            await signature_of(uow, channel, external_id),
            via="web",
        )

    async def _in_scope(
        self, uow: UnitOfWork, visit: Visit, number: int
    ) -> tuple[Declaration | None, Citizen | None, web.Response | None]:
        """The declaration and its citizen when this visit's wards cover it; else the page of
        ``not_found``, the same for an unknown number as for another ward's declaration."""
        declaration = await uow.declarations.get(number)
        citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
        if (
            declaration is None
            or citizen is None
            or not allowed(visit.role, Action.REVIEW, citizen.ward_code)
        ):
            return None, None, self.not_found(visit.locale)
        return declaration, citizen, None

    def _number(self, request: web.Request) -> int:
        """The number in the path; 404 for anything else."""
        raw = request.match_info["id"]
        if not raw.isdigit() or len(raw) > 12:
            raise web.HTTPNotFound()
        return int(raw)

    async def review(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        now = datetime.now(UTC)
        hold = self.app.services.review_hold
        async with self.app.store.transaction() as uow:
            declaration, citizen, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None or citizen is None:
                return refused or self.not_found(visit.locale)
            mine = False
            if declaration.status == "submitted":  # opening it takes the review, as in the chat
                me = await acting_staff_id(uow, visit.role, now)
                holder = await uow.declarations.claim(number, me, now, now - hold)
                mine = holder == me
                declaration = await uow.declarations.get(number) or declaration
            answers = await uow.declarations.answers(number)
            files = await uow.declarations.evidence(number)
            events = await uow.declarations.events(number)
            members, own = await self._people(uow, citizen.id)
            holding = (
                await uow.staff.get(declaration.claimed_by) if declaration.claimed_by else None
            )
            can_undo = (
                declaration.status != "submitted"
                and await undoable(uow, declaration, visit.account, now) is None
            )
        locale = visit.locale
        criteria = self.app.services.criteria[declaration.criteria_set]
        by_indicator: dict[int, list[dict[str, Any]]] = {}
        for item in files:
            kind = item.kind if item.kind in ("photo", "document") else "document"
            by_indicator.setdefault(item.indicator, []).append(
                {
                    "url": f"/console/file/{number}/{item.sha256}",
                    "image": item.mime_type.startswith("image/"),
                    "name": item.original_name or self.say(locale, f"web.file.{kind}"),
                }
            )
        evaluation = criteria.evaluate(verified_scores(answers))
        indicators = []
        for indicator in criteria.indicators:
            answer = answers.get(indicator.id)
            indicators.append(
                {
                    "id": indicator.id,
                    "text": indicator.short.get(locale) or indicator.short.get("vi", ""),
                    "score": answer.score if answer else None,
                    "verified": answer.verified_score if answer else None,
                    "reason": answer.adjust_reason if answer else None,
                    "note": answer.note if answer else None,
                    "files": by_indicator.get(indicator.id, []),
                    "max": indicator.max,
                }
            )
        total = {"total": evaluation.total, "max_total": criteria.max_total}
        # the approve action names the result the rule gives these (possibly adjusted) scores:
        # what `approve` in bot/flows/decisions.py will record
        result = self.say(
            locale, "web.review.result.pass" if evaluation.recognised else "web.review.result.fail"
        )
        claim = ""
        if declaration.status == "submitted" and holding is not None and declaration.claimed_at:
            claim = self.say(
                locale, "web.review.claim.mine" if mine else "web.review.claim.other",
                holder=self.person(locale, holding.account, holding),
                until=_local(declaration.claimed_at + hold),
            )  # fmt: skip
        return self.render(
            locale, "review.html", visit=visit, page="queue",
            declaration=declaration, citizen=citizen,
            ward=self.app.wards.name_of(citizen.ward_code),
            phone=national_phone(citizen.phone),
            group=self.say(locale, f"group.{citizen.group}"),
            indicators=indicators, total=evaluation.total, max_total=criteria.max_total,
            recognised=evaluation.recognised, complete=evaluation.complete,
            mine=mine, claim=claim, can_undo=can_undo,
            approve_label=self.say(locale, "web.review.approve", result=result, **total),
            approve_warning=""
            if evaluation.recognised
            else self.say(
                locale, "web.review.approve.warning",
                rule=result_text(criteria, evaluation, final=True),
            ),
            done=self._done(request, locale, declaration, evaluation.total, criteria.max_total),
            status=self.say(locale, f"xlsx.status.{declaration.status}"),
            submitted=_local(declaration.submitted_at),
            events=self.history(locale, events, members, own),
            undo_minutes=int(UNDO_WINDOW.total_seconds() // 60),
        )  # fmt: skip

    def _done(
        self, request: web.Request, locale: str, declaration: Declaration, total: int, best: int
    ) -> str:
        """After a decision, what the declaration now records, read from the store (not from
        the button pressed): «Đã ghi: Chưa đạt, 76/100 điểm…»."""
        done = request.query.get("done", "")
        status, decision = declaration.status, declaration.decision
        if done == "approve" and decision == "approved" and status in _DECIDED:
            key = "web.review.result.pass" if status == "recognised" else "web.review.result.fail"
            return self.say(
                locale, "web.review.done.approved",
                result=self.say(locale, key), total=total, max_total=best,
            )  # fmt: skip
        if done == "reject" and decision == "rejected" and status == "not_recognised":
            return self.say(locale, "web.review.done.rejected")
        if done == "return" and status == "returned":
            marked = ", ".join(map(str, declaration.reopened))
            return self.say(locale, "web.review.done.returned", indicators=marked)
        if done == "undo" and status == "submitted":
            return self.say(locale, "web.review.done.undone")
        return ""

    async def release(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """«Trả lại hàng chờ»: the chat's *Later* (``_release`` in bot/flows/review.py): this
        account's own claim is cleared, nothing else changes, no staff record is created."""
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            declaration, _, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None:
                return refused or self.not_found(visit.locale)
            channel, _, external_id = visit.account.partition(":")
            member = await uow.staff.by_account(channel, external_id)
            if member is not None:
                await uow.declarations.release(number, member.id)
        raise web.HTTPSeeOther(f"/console/?released={number}")

    async def _held(
        self, uow: UnitOfWork, visit: Visit, number: int, now: datetime
    ) -> tuple[Any, web.Response | None]:
        """The declaration when this visit may decide on it now (role, ward, status, claim);
        else the answer to give: ``not_found`` for a number out of the visit's wards."""
        _, _, refused = await self._in_scope(uow, visit, number)
        if refused is not None:
            return None, refused
        declaration, problem = await check(uow, visit.role, number)
        if declaration is None:
            return None, self.refusal(visit.locale, problem or "web.unknown")
        me = await acting_staff_id(uow, visit.role, now)
        if declaration.claimed_by != me:
            return None, self.refusal(visit.locale, "web.review.claim_lost")
        return declaration, None

    async def adjust(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        form = await request.post()
        now = datetime.now(UTC)
        raw_indicator, raw_score = str(form.get("indicator", "")), str(form.get("score", ""))
        reason = visible_text(str(form.get("reason") or ""))
        async with self.app.store.transaction() as uow:
            declaration, refused = await self._held(uow, visit, number, now)
            if declaration is None:
                return refused or self.not_found(visit.locale)
            criteria = self.app.services.criteria[declaration.criteria_set]
            ids = {i.id: i for i in criteria.indicators}
            if not raw_indicator.isdigit() or int(raw_indicator) not in ids:
                return self.refusal(visit.locale, "web.review.bad_input", 400)
            indicator = ids[int(raw_indicator)]
            if not raw_score.isdigit() or not 0 <= int(raw_score) <= indicator.max:
                return self.refusal(visit.locale, "web.review.bad_score", 400)
            if not 3 <= len(reason) <= 500:
                return self.refusal(visit.locale, "web.review.bad_reason", 400)
            answers = await uow.declarations.answers(number)
            before = verified_scores(answers).get(indicator.id)
            decider = await self._decider(uow, visit, now)
            await adjust(
                uow, declaration, indicator.id, int(raw_score), reason, before, decider, now
            )
        raise web.HTTPSeeOther(f"/console/d/{number}#i{indicator.id}")

    async def decide(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        form = await request.post()
        action = str(form.get("action") or "")
        if form.get("confirm") != "yes":
            return self.refusal(visit.locale, "web.review.unconfirmed", 400)
        text = visible_text(str(form.get("text") or ""))
        now = datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            declaration, refused = await self._held(uow, visit, number, now)
            if declaration is None:
                return refused or self.not_found(visit.locale)
            criteria = self.app.services.criteria[declaration.criteria_set]
            decider = await self._decider(uow, visit, now)
            if action == "approve":
                answers = await uow.declarations.answers(number)
                await approve(uow, declaration, criteria, verified_scores(answers), decider, now)
            elif action == "reject":
                if not 3 <= len(text) <= 1000:
                    return self.refusal(visit.locale, "web.review.bad_reason", 400)
                await reject(uow, declaration, text, decider, now)
            elif action == "return":
                ids = {i.id for i in criteria.indicators}
                marked = [int(str(v)) for v in form.getall("indicator", []) if str(v).isdigit()]
                marked = [n for n in marked if n in ids]
                if not marked or not 3 <= len(text) <= 1000:
                    return self.refusal(visit.locale, "web.review.bad_return", 400)
                await return_for_more(
                    uow, declaration, marked, text, decider, now, criteria=criteria
                )  # the citizen hears the adjusted scores, as from the chat
            else:
                return self.refusal(visit.locale, "web.review.bad_input", 400)
        raise web.HTTPSeeOther(f"/console/d/{number}?done={action}")

    async def undo(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        now = datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            declaration, _, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None:
                return refused or self.not_found(visit.locale)
            problem = await undoable(uow, declaration, visit.account, now)
            if problem is not None:
                return self.refusal(visit.locale, f"web.undo.{problem}", 409)
            await undo(uow, declaration, await self._decider(uow, visit, now), now)
        raise web.HTTPSeeOther(f"/console/d/{number}?done=undo")

    async def file(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """An evidence file, to a staff member who may review its declaration."""
        number = self._number(request)
        sha256 = request.match_info["sha256"]
        async with self.app.store.transaction() as uow:
            declaration, _, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None:
                return refused or self.not_found(visit.locale)
            items = [i for i in await uow.declarations.evidence(number) if i.sha256 == sha256]
        if not items:
            return self.not_found(visit.locale)
        try:
            data = self.app.evidence.path(sha256).read_bytes()
        except FileNotFoundError:
            return self.not_found(visit.locale)
        kind = sniff(data) or "application/octet-stream"
        response = web.Response(body=data, content_type=kind)
        response.headers["Cache-Control"] = "private, no-store"
        if kind == "application/pdf":  # opened in the browser, not downloaded
            response.headers["Content-Disposition"] = "inline"
        return response

    # -- the dashboard ----------------------------------------------------------------------

    def _year(self, request: web.Request) -> int:
        raw = request.query.get("year", "")
        if raw.isdigit() and len(raw) == 4:
            return int(raw)
        return self.app.services.year(datetime.now(UTC))

    async def _report(self, uow: UnitOfWork, visit: Visit, year: int) -> Report:
        services = self.app.services
        return await build_report(
            uow, self.app.wards, year, self._wards(visit.role),
            services.targets, services.population,
        )  # fmt: skip

    async def dashboard(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        year = self._year(request)
        async with self.app.store.transaction() as uow:
            report = await self._report(uow, visit, year)
        units = [u for u in report.units if u.counts.registered] or report.units[:0]
        widest = max((u.counts.registered for u in units), default=0) or 1
        bars = [
            {
                "name": u.name,
                "registered": u.counts.registered,
                "recognised": u.counts.recognised,
                "width": round(100 * u.counts.registered / widest, 1),
                "done": round(100 * u.counts.recognised / widest, 1),
            }
            for u in units
        ]
        decimal = self.say(visit.locale, DECIMAL.key)  # «33,3%» in Vietnamese
        targets = [
            {
                "name": self.say(visit.locale, f"report.target.{row.id}"),
                "milestone": self.say(
                    visit.locale,
                    "report.milestone",
                    share=target_share(row.share, decimal),
                    year=row.milestone_year,
                ),
                "achieved": row.achieved,
                "share": percent(row.achieved_share, decimal),
                "progress": min(100.0, round(100 * (row.achieved_share or 0) / row.share, 1)),
                # the chat's wording names the setting; an official reads what it means
                "missing": self.say(visit.locale, "web.dashboard.missing") if row.missing else "",
            }
            for row in report.targets
        ]
        columns = [self.say(visit.locale, f"report.col.{c}") for c in COUNT_COLUMNS]
        return self.render(
            visit.locale, "dashboard.html", visit=visit, page="dashboard", report=report,
            columns=columns, units=units, bars=bars, targets=targets, year=year,
            percent=percent, lists=list(LISTS),
        )  # fmt: skip

    def _xlsx(self, data: bytes, name: str) -> web.Response:
        response = web.Response(body=data, content_type=XLSX)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

    async def report_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        year = self._year(request)
        async with self.app.store.transaction() as uow:
            report = await self._report(uow, visit, year)
        buffer = io.BytesIO()
        report_workbook(buffer, report, self.app.translator, visit.locale)
        return self._xlsx(buffer.getvalue(), f"bao-cao-cdht-{year}.xlsx")

    async def export_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        year = self._year(request)
        services = self.app.services
        async with self.app.store.transaction() as uow:
            report = await self._report(uow, visit, year)
        indicators = sorted({i.id for c in services.criteria.values() for i in c.indicators})
        # streamed as `cdht export --format xlsx` is: pages of citizens, each read in a short
        # transaction of its own, never the whole scope in memory nor the write lock held
        pages = record_pages(self.app.store, services.criteria, self._wards(visit.role))
        buffer = io.BytesIO()
        await export_workbook(
            buffer, pages, report, indicators, self.app.wards, self.app.translator, visit.locale
        )
        return self._xlsx(buffer.getvalue(), f"cdht-{year}.xlsx")

    async def list_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in LISTS:
            raise web.HTTPNotFound()
        year = self._year(request)
        days = request.query.get("days", "7")
        waiting_days = int(days) if days.isdigit() and len(days) <= 3 else 7
        now = datetime.now(UTC)
        scope = self._wards(visit.role)
        async with self.app.store.transaction() as uow:
            names = await staff_names(uow)
            rows = await list_rows(
                uow, name, scope, year, now, waiting_days,
                self.app.wards.name_of, names, lambda key: self.say(visit.locale, key),
            )  # fmt: skip
        buffer = io.BytesIO()
        write_list(
            buffer, name, rows, scope=scope, year=year, days=waiting_days, wards=self.app.wards,
            say=self.app.translator, locale=visit.locale, made_at=now,
        )  # fmt: skip
        return self._xlsx(buffer.getvalue(), f"{name.replace('_', '-')}-{year}.xlsx")

    # -- citizens ---------------------------------------------------------------------------

    async def citizens(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        query = (request.query.get("q") or "").strip()[:60]
        found = []
        if len(query) >= 2:
            async with self.app.store.transaction() as uow:
                for person in await uow.citizens.search(query, self._wards(visit.role)):
                    declarations = await uow.declarations.of_citizen(person.id)
                    found.append(
                        {
                            "id": person.id,
                            "name": person.full_name,
                            "birth_year": person.birth_year,
                            "phone": national_phone(person.phone),
                            "ward": self.app.wards.name_of(person.ward_code),
                            "registered": _local(person.registered_at),
                            "declarations": [
                                {
                                    "id": d.id,
                                    "year": d.year,
                                    "status": self.say(visit.locale, f"xlsx.status.{d.status}"),
                                }
                                for d in declarations
                            ],
                        }
                    )
        return self.render(
            visit.locale, "citizens.html", visit=visit, page="citizens", q=query, found=found
        )

    # -- broadcasts -------------------------------------------------------------------------

    def _ward_choices(self, role: Role) -> list[tuple[str, str]]:
        scope = self._wards(role)
        codes = sorted(scope) if scope is not None else [w.code for w in self.app.wards.all()]
        names = ((code, self.app.wards.name_of(code)) for code in codes)
        return sorted(names, key=lambda item: collation_key(item[1]))  # Vietnamese order

    def _audience(self, form: Any, role: Role) -> tuple[dict[str, Any] | None, str]:
        """The audience a form asks for, kept within the account's wards; and the form's
        values to show again."""
        allowed = {code for code, _ in self._ward_choices(role)}
        wards = [str(w) for w in form.getall("ward", []) if str(w) in allowed]
        if not role.admin and not wards:
            wards = sorted(allowed)  # a coordinator speaks to their own wards only
        group = str(form.get("group") or "")
        status = str(form.get("status") or "")
        channel = str(form.get("channel") or "")
        locale = str(form.get("language") or "")
        try:
            filters = audience(
                wards=wards,
                group=int(group) if group in ("1", "2", "3", "4") else None,
                status=status if status in AUDIENCE_STATUSES else None,
                channel=channel if channel in ("telegram", "zalo") else None,
                locale=locale if locale in ("vi", "en") else None,
                year=self.app.services.year(datetime.now(UTC)),
            )
        except ValueError:
            return None, ""
        return filters, str(form.get("text") or "").strip()

    def _broadcast_form(
        self, visit: Visit, filters: dict[str, Any] | None, text: str, **extra: Any
    ) -> web.Response:
        quiet = self.app.services.quiet_hours
        hours = (
            f"{quiet[0] // 60:02d}:{quiet[0] % 60:02d}–{quiet[1] // 60:02d}:{quiet[1] % 60:02d}"
            if quiet
            else ""
        )
        return self.render(
            visit.locale, "broadcasts.html", visit=visit, page="broadcasts",
            wards=self._ward_choices(visit.role), filters=filters or {}, text=text,
            statuses=AUDIENCE_STATUSES, quiet=hours, **extra,
        )  # fmt: skip

    async def broadcasts(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        return self._broadcast_form(visit, None, "", count=None)

    async def broadcast_preview(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        form = await request.post()
        filters, text = self._audience(form, visit.role)
        if filters is None or not len(visible_text(text)) >= 2 or len(text) > MAX_TEXT:
            return self.refusal(visit.locale, "web.bc.bad", 400)
        async with self.app.store.transaction() as uow:
            count = await uow.broadcasts.count_audience(filters)
        return self._broadcast_form(visit, filters, text, count=count)

    async def broadcast_send(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        form = await request.post()
        filters, text = self._audience(form, visit.role)
        if filters is None or not len(visible_text(text)) >= 2 or len(text) > MAX_TEXT:
            return self.refusal(visit.locale, "web.bc.bad", 400)
        now = datetime.now(UTC)
        at = None
        raw_at = str(form.get("at") or "")
        if raw_at:
            try:
                at = datetime.fromisoformat(raw_at).replace(tzinfo=VN_TIME).astimezone(UTC)
            except ValueError:
                return self.refusal(visit.locale, "web.bc.bad", 400)
        status = filters.get("status")
        buttons = (
            (("/declare", t("note.reminder.button")),)
            if status in ("not_started", "in_progress")
            else ()
        )
        async with self.app.store.transaction() as uow:
            created = await create_broadcast(
                uow, text, filters, visit.account, now, at=at, choices=buttons
            )
        raise web.HTTPSeeOther(f"/console/broadcasts/{created.id}")

    async def _own_broadcast(self, uow: UnitOfWork, visit: Visit, number: int) -> Any:
        found = await uow.broadcasts.get(number)
        if found is None or not (visit.role.admin or found.created_by == visit.account):
            return None
        return found

    async def broadcast_report(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            found = await self._own_broadcast(uow, visit, number)
            if found is None:
                return self.not_found(visit.locale, "web.bc.unknown")
            counts = await uow.broadcasts.report(number)
        rows = [
            {
                "id": name,
                "label": self.say(visit.locale, f"web.bc.count.{name}")
                if name in _SENT_STATES
                else self.say(visit.locale, "web.bc.count.other"),
                "count": value,
            }
            for name, value in counts.items()
        ]
        return self.render(
            visit.locale, "broadcast.html", visit=visit, page="broadcasts", broadcast=found,
            counts=rows, scheduled=_local(found.scheduled_at),
        )  # fmt: skip

    async def broadcast_cancel(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            if await self._own_broadcast(uow, visit, number) is None:
                return self.not_found(visit.locale, "web.bc.unknown")
            await uow.broadcasts.cancel(number)
        raise web.HTTPSeeOther(f"/console/broadcasts/{number}")

    # -- staff (admins) ---------------------------------------------------------------------

    async def staff(self, request: web.Request, visit: Visit, **extra: Any) -> web.StreamResponse:
        if not visit.role.admin:
            return self.refusal(visit.locale, "web.staff.admin_only")
        async with self.app.store.transaction() as uow:
            members = [m for m in await uow.staff.all() if m.role != "none"]
        rows = [
            {
                "id": m.id,
                "name": m.display_name or self.say(visit.locale, "web.staff.unnamed"),
                "channel": self.channel_words(visit.locale, m.channel),
                "role": self.say(visit.locale, f"staff.role.{m.role}"),
                "wards": self._ward_names(m.wards),
                "revoked": m.revoked_at is not None,
                "configured": m.account in self.app.services.admins,
                "self": m.account == visit.account,
            }
            for m in members
        ]
        return self.render(
            visit.locale, "staff.html", visit=visit, page="staff", rows=rows,
            wards=self._ward_choices(visit.role), code=extra.get("code"),
            qr=extra.get("qr"), note=extra.get("note"),
        )  # fmt: skip

    async def staff_invite(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        if not visit.role.admin:
            return self.refusal(visit.locale, "web.staff.admin_only")
        form = await request.post()
        role = "admin" if form.get("role") == "admin" else "coordinator"
        known = {w.code for w in self.app.wards.all()}
        wards = [str(w) for w in form.getall("ward", []) if str(w) in known]
        if role == "coordinator" and not wards:
            return self.refusal(visit.locale, "web.staff.no_ward", 400)
        async with self.app.store.transaction() as uow:
            code = await create_invitation(
                uow, role, wards if role == "coordinator" else (), visit.account,
                datetime.now(UTC), self.app.services.invite_valid,
            )  # fmt: skip
        qr = segno.make(f"/coordinator {code}", error="m").svg_data_uri(scale=5)
        return await self.staff(request, visit, code=code, qr=qr)

    def _ward_names(self, codes: frozenset[str]) -> str:
        return ", ".join(sorted(self.app.wards.name_of(c) for c in codes)) or "—"

    async def staff_revoke(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """Two steps, both on the server: the list's button shows who loses what (nothing
        changes); only the confirmation's form, with ``confirm=yes``, revokes, through the
        chat's ``revoke_member`` (its rules, its message to the account)."""
        if not visit.role.admin:
            return self.refusal(visit.locale, "web.staff.admin_only")
        number = self._number(request)
        form = await request.post()
        locale = visit.locale
        async with self.app.store.transaction() as uow:
            member = await uow.staff.get(number)
            if member is None or member.role == "none":
                return self.refusal(locale, "web.staff.unknown", 404)
            name = self.person(locale, member.account, member)
            if form.get("confirm") != "yes":
                return self.render(
                    locale, "staff_revoke.html", visit=visit, page="staff", id=member.id,
                    name=name, role=self.say(locale, f"staff.role.{member.role}"),
                    wards=self._ward_names(member.wards),
                )  # fmt: skip
            note = await revoke_member(
                uow, visit.role, number, self.app.services.admins, datetime.now(UTC)
            )
        # the chat's outcome, in the console's words: the person by name, no account id
        web_key = _REVOKE_NOTES.get(note.key)
        said = self.say(locale, web_key, name=name) if web_key else self.say(locale, note)
        return await self.staff(request, visit, note=said)

    async def citizen_history(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """One citizen, for staff of their ward: registration, corrections, consents, each
        declaration with its history, and the messages the campaign sent them."""
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            person = await uow.citizens.get(number)
            if person is None or not allowed(visit.role, Action.CITIZENS, person.ward_code):
                return self.not_found(visit.locale)
            data = await citizen_data(uow, person)
            members, own = await self._people(uow, person.id)
            declarations = []
            for found in await uow.declarations.of_citizen(person.id):
                events = await uow.declarations.events(found.id)
                declarations.append(
                    {
                        "id": found.id,
                        "year": found.year,
                        "status": self.say(visit.locale, f"xlsx.status.{found.status}"),
                        "history": self.history(visit.locale, events, members, own),
                    }
                )
        locale = visit.locale
        corrections = [
            {
                "at": _iso_local(c["at"]),
                "field": self.say(locale, f"field.{c['field']}")
                if c["field"] in _FIELDS
                else self.say(locale, "web.citizen.field.other"),
            }
            for c in data["corrections"]
        ]
        messages = [
            {
                "at": _iso_local(m["queued_at"]),
                "status": self.say(locale, f"web.bc.count.{m['status']}")
                if m["status"] in _SENT_STATES
                else self.say(locale, "web.bc.count.other"),
                "broadcast": m["broadcast"],
            }
            for m in data["campaign_messages"]
        ]
        return self.render(
            locale, "citizen.html", visit=visit, page="citizens", person=person,
            ward=self.app.wards.name_of(person.ward_code), phone=national_phone(person.phone),
            registered=_local(person.registered_at), consents=data["consents"],
            declarations=declarations, corrections=corrections, messages=messages,
            when=_iso_local,
            purposes={key: self.say(locale, text) for key, text in PURPOSE_LABELS.items()},
        )  # fmt: skip

    # -- the public verification page -------------------------------------------------------

    async def verify(self, request: web.Request) -> web.StreamResponse:
        locale = self._locale(request)
        letters = self.app.services.letters
        if letters is None:
            raise web.HTTPNotFound()
        async with self.app.store.transaction() as uow:
            found = await letters.verify(uow, request.match_info["token"][:60])
        province = ward_in_sentence(self.app.wards.province_name, locale)
        return self.render(locale, "verify.html", found=found, province_in_sentence=province)


_DECIDED = ("recognised", "not_recognised")
_REVOKE_NOTES = {
    "staff.revoke.done": "web.staff.revoke.done",
    "staff.revoke.already": "web.staff.revoke.already",
    "staff.revoke.configured": "web.staff.revoke.configured",
    "staff.revoke.unknown": "web.staff.unknown",
}
_FIELDS = (
    "full_name", "birth_year", "phone", "group", "ward", "residential_group", "gender",
    "workplace",
)  # fmt: skip
_SENT_STATES = ("sent", "failed", "blocked", "pending", "cancelled")


def _dash(value: object) -> str:
    return "—" if value is None else str(value)


def _iso_local(value: str | None) -> str:
    return _local(datetime.fromisoformat(value)) if value else ""


def _local(moment: datetime | None) -> str:
    return moment.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M") if moment else ""


# the console's texts, used from the templates through say(); listed for `make messages`
WEB_TEXTS = (
    t("web.title"), t("web.signin.title"), t("web.signin.button"), t("web.nav.queue"),
    t("web.nav.dashboard"), t("web.nav.citizens"),
    t("web.nav.signout"), t("web.lang.switch"), t("web.signed_in_as"),
    t("web.signed_out"), t("web.signed_out.done"), t("web.not_staff"), t("web.csrf"),
    t("web.link.invalid"), t("web.unknown"), t("web.bc.unknown"),
    t("web.queue.title"), t("web.queue.empty"), t("web.queue.filter"), t("web.queue.all_wards"),
    t("web.queue.min_age"), t("web.queue.col.id"), t("web.queue.col.name"),
    t("web.queue.col.ward"), t("web.queue.col.submitted"), t("web.queue.col.age"),
    t("web.queue.col.holder"), t("web.queue.col.round"), t("web.queue.apply"),
    t("web.review.title"), t("web.review.profile"),
    t("web.review.indicator"), t("web.review.self"), t("web.review.verified"),
    t("web.review.note"), t("web.review.evidence"), t("web.review.none"),
    t("web.review.adjust"), t("web.review.adjust.score"), t("web.review.adjust.reason"),
    t("web.review.adjust.save"), t("web.review.adjusted"), t("web.review.total"),
    t("web.review.pass"), t("web.review.fail"), t("web.review.decide"),
    t("web.review.approve"), t("web.review.reject"), t("web.review.return"),
    t("web.review.reason"), t("web.review.return.note"), t("web.review.return.which"),
    t("web.review.confirm"), t("web.review.history"), t("web.review.on_web"),
    t("web.review.undo"), t("web.review.status"), t("web.review.claim_lost"),
    t("web.review.bad_input"), t("web.review.bad_score"), t("web.review.bad_reason"),
    t("web.review.bad_return"), t("web.review.unconfirmed"), t("web.undo.nothing"),
    t("web.undo.late"), t("web.dashboard.title"), t("web.dashboard.bars"),
    t("web.dashboard.targets"), t("web.dashboard.downloads"), t("web.dashboard.report_xlsx"),
    t("web.dashboard.export_xlsx"), t("web.dashboard.list"), t("web.citizens.title"),
    t("web.citizens.search"), t("web.citizens.none"), t("web.verify.title"),
    t("web.citizen.title"), t("web.citizen.registered"), t("web.citizen.corrections"),
    t("web.citizen.consents"), t("web.citizen.messages"), t("web.citizen.none"),
    t("web.verify.valid"), t("web.verify.invalid"), t("web.back"),
    t("field.full_name"), t("field.birth_year"), t("field.phone"), t("field.group"),
    t("field.ward"), t("field.residential_group"), t("list.proposed.title"),
    t("web.nav.broadcasts"), t("web.nav.staff"), t("web.bc.title"), t("web.bc.text"),
    t("web.bc.wards"), t("web.bc.wards.hint"), t("web.bc.group"), t("web.bc.status"),
    t("web.bc.channel"), t("web.bc.language"), t("web.bc.any"), t("web.bc.at"),
    t("web.bc.count"), t("web.bc.recipients"), t("web.bc.quiet"), t("web.bc.send"),
    t("web.bc.bad"), t("web.bc.report"), t("web.bc.cancel"), t("web.bc.state"),
    t("web.bc.scheduled"), t("web.staff.title"), t("web.staff.invite"), t("web.staff.role"),
    t("web.staff.code"), t("web.staff.no_ward"), t("web.staff.revoke"), t("web.staff.configured"),
    t("web.staff.revoked"), t("staff.role.admin"), t("staff.role.coordinator"),
    t("web.bc.count.sent"), t("web.bc.count.failed"), t("web.bc.count.blocked"),
    t("web.bc.count.pending"), t("web.bc.count.cancelled"), t("web.bc.state.scheduled"),
    t("web.bc.state.queued"), t("web.bc.state.cancelled"),
    t("bc.audience.all"), t("bc.audience.not_started"), t("bc.audience.in_progress"),
    t("bc.audience.submitted"), t("bc.audience.returned"), t("bc.audience.recognised"),
    t("list.not_started.title"), t("list.waiting.title"),
    t("web.channel.telegram"), t("web.channel.zalo"), t("web.channel.console"),
    t("web.channel.other"), t("web.person"), t("web.person.unnamed"), t("web.actor.citizen"),
    t("web.actor.cli"), t("web.actor.system"), t("web.history.undo"), t("web.history.adjusted"),
    t("web.history.unadjusted"), t("web.history.consent_withdrawn"), t("web.file.photo"),
    t("web.file.document"), t("web.queue.held_until"), t("web.queue.released"),
    t("web.review.result.pass"), t("web.review.result.fail"), t("web.review.approve.warning"),
    t("web.review.done.approved"), t("web.review.done.rejected"), t("web.review.done.returned"),
    t("web.review.done.undone"), t("web.review.claim.mine"), t("web.review.claim.other"),
    t("web.review.release"), t("web.dashboard.missing"), t("web.citizen.field.other"),
    t("web.citizen.purpose.other"), t("web.citizen.notice"), t("web.citizen.withdrawn"),
    t("web.bc.count.other"), t("web.staff.admin_only"), t("web.staff.unnamed"),
    t("web.staff.state"), t("web.staff.you"), t("web.staff.unknown"), t("web.staff.revoke.done"),
    t("web.staff.revoke.already"), t("web.staff.revoke.configured"),
    t("web.staff.confirm.title"), t("web.staff.confirm.what"), t("web.staff.confirm.yes"),
    t("web.staff.confirm.no"), t("field.gender"), t("field.workplace"),
)  # fmt: skip

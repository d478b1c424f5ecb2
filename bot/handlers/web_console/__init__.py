"""The staff's web console, on the bot's one web server (aiohttp, Jinja2 templates, no script
from elsewhere: it works on a closed network).

Sign-in without passwords: a staff member sends ``/web`` in the chat and gets a one-time link
(valid 10 minutes, single use, only its hash stored); opening it starts a session whose cookie
is HttpOnly, SameSite=Strict, Secure over HTTPS, and which ends after 8 hours idle or on sign
out. Every request re-reads the account's role and wards (``role_of``) on the server, every
form carries the session's CSRF token, and decisions go through ``bot.flows.decisions``, the
chat's own code, recorded as made on the web. Also here: the public verification page of a
recognition letter (``/v/<token>``).
"""

from __future__ import annotations

import hmac
import io
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import segno
from aiohttp import web

from bot.engine import Text, t
from bot.engine.ports import Citizen, Declaration, UnitOfWork
from bot.flows.broadcast import MAX_TEXT
from bot.flows.common import VN_TIME
from bot.flows.decisions import (
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
from bot.flows.registration import PURPOSE_LABELS
from bot.flows.reports import LISTS, list_rows
from bot.flows.staff import revoke_member
from bot.services.broadcast import AUDIENCE_STATUSES, audience, create_broadcast
from bot.services.console import secret_hash
from bot.services.evidence import sniff
from bot.services.export import record_pages
from bot.services.mydata import citizen_data
from bot.services.report import (
    COUNT_COLUMNS,
    Report,
    build_report,
    percent,
    target_share,
)
from bot.services.spreadsheet import export_workbook, list_workbook, report_workbook
from bot.services.staff import Role, acting_staff_id, create_invitation, role_of, staff_names
from bot.services.validation import national_phone, visible_text

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
        if isinstance(text, str):
            return self.app.translator(locale, text, **params)
        return self.app.translator(locale, text.key, **{**dict(text.params), **params})

    def render(
        self, locale: str, template: str, http_status: int = 200, **context: Any
    ) -> web.Response:
        def say(key: str, **params: object) -> str:
            return self.app.translator(locale, key, **params)

        html = self.env.get_template(template).render(say=say, locale=locale, **context)
        response = web.Response(text=html, status=http_status, content_type="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def _locale(self, request: web.Request) -> str:
        wanted = request.query.get("lang") or request.cookies.get(LOCALE_COOKIE)
        return wanted if wanted in ("vi", "en") else self.app.settings.default_locale

    def refusal(self, locale: str, key: Text | str, status: int = 403) -> web.Response:
        return self.render(
            locale, "message.html", http_status=status, message=self.say(locale, key)
        )

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
            if request.method == "POST":
                form = await request.post()
                sent = str(form.get("csrf") or "")
                if not hmac.compare_digest(sent, session.csrf):
                    return self.refusal(locale, "web.csrf")
            visit = Visit(session.account, role, session.csrf, locale, session_hash)
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
        async with self.app.store.transaction() as uow:
            found = await uow.declarations.with_status(("submitted",), scope)
            holders = {m.id: m.shown_as for m in await uow.staff.all()}
        rows = []
        for declaration, citizen in found:
            if ward and citizen.ward_code != ward:
                continue
            age = (now - (declaration.submitted_at or now)).days
            if min_days.isdigit() and age < int(min_days):
                continue
            rows.append(
                {
                    "id": declaration.id,
                    "name": citizen.full_name,
                    "ward": self.app.wards.name_of(citizen.ward_code),
                    "submitted": _local(declaration.submitted_at),
                    "age": age,
                    "round": declaration.review_round,
                    "holder": holders.get(declaration.claimed_by or -1, ""),
                }
            )
        codes = sorted(scope) if scope is not None else [w.code for w in self.app.wards.all()]
        choices = sorted(((c, self.app.wards.name_of(c)) for c in codes), key=lambda item: item[1])
        return self.render(
            visit.locale, "queue.html", visit=visit, rows=rows, wards=choices, ward=ward,
            age=min_days, page="queue",
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
        """The declaration and its citizen when this visit's wards cover it; else a refusal
        (404 unknown, 403 another ward's)."""
        declaration = await uow.declarations.get(number)
        citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
        if declaration is None or citizen is None:
            return None, None, self.refusal(visit.locale, "web.unknown", 404)
        if not visit.role.may_review(citizen.ward_code):
            return None, None, self.refusal(visit.locale, "web.other_ward")
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
        async with self.app.store.transaction() as uow:
            declaration, citizen, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None or citizen is None:
                return refused or self.refusal(visit.locale, "web.unknown", 404)
            holder_name = ""
            mine = False
            if declaration.status == "submitted":  # opening it takes the review, as in the chat
                me = await acting_staff_id(uow, visit.role, now)
                holder = await uow.declarations.claim(
                    number, me, now, now - self.app.services.review_hold
                )
                mine = holder == me
                other = await uow.staff.get(holder) if holder and not mine else None
                holder_name = other.shown_as if other else ""
                declaration = await uow.declarations.get(number) or declaration
            answers = await uow.declarations.answers(number)
            files = await uow.declarations.evidence(number)
            events = await uow.declarations.events(number)
            names = await staff_names(uow)
            can_undo = (
                declaration.status != "submitted"
                and await undoable(uow, declaration, visit.account, now) is None
            )
        criteria = self.app.services.criteria[declaration.criteria_set]
        by_indicator: dict[int, list[dict[str, Any]]] = {}
        for item in files:
            by_indicator.setdefault(item.indicator, []).append(
                {
                    "url": f"/console/file/{number}/{item.sha256}",
                    "image": item.mime_type.startswith("image/"),
                    "name": item.original_name or item.kind,
                }
            )
        evaluation = criteria.evaluate(verified_scores(answers))
        indicators = []
        for indicator in criteria.indicators:
            answer = answers.get(indicator.id)
            indicators.append(
                {
                    "id": indicator.id,
                    "text": indicator.short.get(visit.locale) or indicator.short.get("vi", ""),
                    "score": answer.score if answer else None,
                    "verified": answer.verified_score if answer else None,
                    "reason": answer.adjust_reason if answer else None,
                    "note": answer.note if answer else None,
                    "files": by_indicator.get(indicator.id, []),
                    "max": indicator.max,
                }
            )
        return self.render(
            visit.locale, "review.html", visit=visit, page="queue",
            declaration=declaration, citizen=citizen,
            ward=self.app.wards.name_of(citizen.ward_code),
            phone=national_phone(citizen.phone),
            group=self.say(visit.locale, f"group.{citizen.group}"),
            indicators=indicators, total=evaluation.total, max_total=criteria.max_total,
            recognised=evaluation.recognised, complete=evaluation.complete,
            mine=mine, holder=holder_name, can_undo=can_undo,
            status=self.say(visit.locale, f"xlsx.status.{declaration.status}"),
            submitted=_local(declaration.submitted_at),
            events=[
                {
                    "at": _local(e.created_at),
                    "by": names.get(e.actor, e.actor),
                    "change": self.say(visit.locale, f"xlsx.status.{e.to_status}")
                    if e.to_status != e.from_status
                    else self.say(visit.locale, "web.review.adjusted"),
                    "reason": e.reason or "",
                    "web": bool(e.adjusted and e.adjusted.get("via") == "web"),
                }
                for e in events
            ],
            undo_minutes=int(UNDO_WINDOW.total_seconds() // 60),
        )  # fmt: skip

    async def _held(
        self, uow: UnitOfWork, visit: Visit, number: int, now: datetime
    ) -> tuple[Any, Text | str | None]:
        """The declaration when this visit may decide on it now (role, ward, status, claim)."""
        declaration, problem = await check(uow, visit.role, number)
        if declaration is None:
            return None, problem or "web.unknown"
        me = await acting_staff_id(uow, visit.role, now)
        if declaration.claimed_by != me:
            return None, "web.review.claim_lost"
        return declaration, None

    async def adjust(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        form = await request.post()
        now = datetime.now(UTC)
        raw_indicator, raw_score = str(form.get("indicator", "")), str(form.get("score", ""))
        reason = visible_text(str(form.get("reason") or ""))
        async with self.app.store.transaction() as uow:
            declaration, problem = await self._held(uow, visit, number, now)
            if declaration is None:
                return self.refusal(visit.locale, problem or "web.unknown")
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
            declaration, problem = await self._held(uow, visit, number, now)
            if declaration is None:
                return self.refusal(visit.locale, problem or "web.unknown")
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
                await return_for_more(uow, declaration, marked, text, decider, now)
            else:
                return self.refusal(visit.locale, "web.review.bad_input", 400)
        self.app.engine.notify_committed()
        raise web.HTTPSeeOther(f"/console/d/{number}")

    async def undo(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        now = datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            declaration, _, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None:
                return refused or self.refusal(visit.locale, "web.unknown", 404)
            problem = await undoable(uow, declaration, visit.account, now)
            if problem is not None:
                return self.refusal(visit.locale, f"web.undo.{problem}", 409)
            await undo(uow, declaration, await self._decider(uow, visit, now), now)
        self.app.engine.notify_committed()
        raise web.HTTPSeeOther(f"/console/d/{number}")

    async def file(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """An evidence file, to a staff member who may review its declaration."""
        number = self._number(request)
        sha256 = request.match_info["sha256"]
        async with self.app.store.transaction() as uow:
            declaration, _, refused = await self._in_scope(uow, visit, number)
            if refused is not None or declaration is None:
                return refused or self.refusal(visit.locale, "web.unknown", 404)
            items = [i for i in await uow.declarations.evidence(number) if i.sha256 == sha256]
        if not items:
            raise web.HTTPNotFound()
        try:
            data = self.app.evidence.path(sha256).read_bytes()
        except FileNotFoundError:
            raise web.HTTPNotFound() from None
        kind = sniff(data) or "application/octet-stream"
        response = web.Response(body=data, content_type=kind)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
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
        targets = [
            {
                "name": self.say(visit.locale, f"report.target.{row.id}"),
                "milestone": self.say(
                    visit.locale,
                    "report.milestone",
                    share=target_share(row.share),
                    year=row.milestone_year,
                ),
                "achieved": row.achieved,
                "share": percent(row.achieved_share),
                "progress": min(100.0, round(100 * (row.achieved_share or 0) / row.share, 1)),
                "missing": self.say(visit.locale, "report.missing", column=row.missing)
                if row.missing
                else "",
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
        now = datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            names = await staff_names(uow)
            rows = await list_rows(
                uow, name, self._wards(visit.role), year, now,
                int(days) if days.isdigit() and len(days) <= 3 else 7,
                self.app.wards.name_of, names, lambda key: self.say(visit.locale, key),
            )  # fmt: skip
        spec = LISTS[name]
        buffer = io.BytesIO()
        list_workbook(
            buffer,
            self.say(visit.locale, spec.title),
            [self.say(visit.locale, h) for h in spec.headers],
            spec.widths,
            rows,
        )
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
        return sorted(((c, self.app.wards.name_of(c)) for c in codes), key=lambda item: item[1])

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
        self.app.engine.notify_committed()
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
                return self.refusal(visit.locale, "web.unknown", 404)
            counts = await uow.broadcasts.report(number)
        return self.render(
            visit.locale, "broadcast.html", visit=visit, page="broadcasts", broadcast=found,
            counts=counts, scheduled=_local(found.scheduled_at),
        )  # fmt: skip

    async def broadcast_cancel(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            if await self._own_broadcast(uow, visit, number) is None:
                return self.refusal(visit.locale, "web.unknown", 404)
            await uow.broadcasts.cancel(number)
        raise web.HTTPSeeOther(f"/console/broadcasts/{number}")

    # -- staff (admins) ---------------------------------------------------------------------

    async def staff(self, request: web.Request, visit: Visit, **extra: Any) -> web.StreamResponse:
        if not visit.role.admin:
            return self.refusal(visit.locale, "staff.admin_only")
        async with self.app.store.transaction() as uow:
            members = [m for m in await uow.staff.all() if m.role != "none"]
        rows = [
            {
                "id": m.id,
                "name": m.shown_as,
                "account": m.account,
                "role": self.say(visit.locale, f"staff.role.{m.role}"),
                "wards": ", ".join(self.app.wards.name_of(c) for c in sorted(m.wards)) or "—",
                "revoked": m.revoked_at is not None,
                "configured": m.account in self.app.services.admins,
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
            return self.refusal(visit.locale, "staff.admin_only")
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

    async def staff_revoke(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            note = await revoke_member(
                uow, visit.role, number, self.app.services.admins, datetime.now(UTC)
            )
        self.app.engine.notify_committed()
        return await self.staff(request, visit, note=self.say(visit.locale, note))

    async def citizen_history(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """One citizen, for staff of their ward: registration, corrections, consents, each
        declaration with its history, and the messages the campaign sent them."""
        number = self._number(request)
        async with self.app.store.transaction() as uow:
            person = await uow.citizens.get(number)
            if person is None:
                return self.refusal(visit.locale, "web.unknown", 404)
            if not visit.role.may_review(person.ward_code):
                return self.refusal(visit.locale, "web.other_ward")
            data = await citizen_data(uow, person)
            ids = {d.year: d.id for d in await uow.declarations.of_citizen(person.id)}
        for declaration in data["declarations"]:
            declaration["id"] = ids.get(declaration["year"])
            declaration["status_text"] = self.say(
                visit.locale, f"xlsx.status.{declaration['status']}"
            )
        return self.render(
            visit.locale, "citizen.html", visit=visit, page="citizens", person=person,
            ward=self.app.wards.name_of(person.ward_code), phone=national_phone(person.phone),
            registered=_local(person.registered_at), data=data, when=_iso_local,
            purposes={key: self.say(visit.locale, text) for key, text in PURPOSE_LABELS.items()},
        )  # fmt: skip

    # -- the public verification page -------------------------------------------------------

    async def verify(self, request: web.Request) -> web.StreamResponse:
        locale = self._locale(request)
        letters = self.app.services.letters
        if letters is None:
            raise web.HTTPNotFound()
        async with self.app.store.transaction() as uow:
            found = await letters.verify(uow, request.match_info["token"][:60])
        return self.render(locale, "verify.html", found=found)


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
    t("web.link.invalid"), t("web.unknown"), t("web.other_ward"),
    t("web.queue.title"), t("web.queue.empty"), t("web.queue.filter"), t("web.queue.all_wards"),
    t("web.queue.min_age"), t("web.queue.col.id"), t("web.queue.col.name"),
    t("web.queue.col.ward"), t("web.queue.col.submitted"), t("web.queue.col.age"),
    t("web.queue.col.holder"), t("web.queue.col.round"), t("web.queue.apply"),
    t("web.review.title"), t("web.review.profile"), t("web.review.held"), t("web.review.yours"),
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
)  # fmt: skip

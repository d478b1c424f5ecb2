"""Signing in and out, sessions and CSRF.

Sign-in without passwords: a staff member sends ``/web`` in the chat and gets a one-time link
(valid 10 minutes, single use, only its hash stored); opening it shows a button whose POST
starts a session. The session's cookie is HttpOnly, SameSite=Strict, Secure over HTTPS; the
session ends after 8 hours idle or on sign out. Every request re-reads the account's role and
wards (``role_of``) on the server and asks the permissions table whether it may use the console
now; every form carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.domain.permissions import Action, allowed
from bot.domain.usecases.roles import Role, role_of
from bot.engine import t
from bot.handlers.web_console.view import LOCALE_COOKIE, LOCALES, Pages
from bot.services.console import secret_hash

if TYPE_CHECKING:
    from bot.handlers.web import Handler

__all__ = ["COOKIE", "IDLE_LIMIT", "RETURNED", "Page", "Sessions", "Visit"]

IDLE_LIMIT = timedelta(hours=8)
COOKIE = "cdht_session"
RETURNED = "cdht_returned"  # marks the second arrival at a page another site sent back to
_SIGNED_OUT = t("web.signed_out")
_NOT_STAFF = t("web.not_staff")
_LINK_INVALID = t("web.link.invalid")


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


class Sessions(Pages):
    """The sign-in pages, and the guard every other page of the console is served through."""

    @property
    def secure(self) -> bool:
        """Whether cookies are sent over HTTPS only (a public address in https://)."""
        return (self.app.settings.public_base_url or "").startswith("https://")

    def guard(self, page: Page) -> Handler:
        """``page`` for a signed-in account that may use the console now, with a valid CSRF
        token on a POST; else the refusal. A session idle too long, or whose account lost its
        role since, ends here."""

        async def handle(request: web.Request) -> web.StreamResponse:
            view = self.view
            locale = view.locale_of(request)
            cookie = request.cookies.get(COOKIE)
            if not cookie:
                return view.refusal(locale, _SIGNED_OUT, 401)
            now = datetime.now(UTC)
            session_hash = secret_hash(cookie)
            async with self.app.store.transaction() as uow:
                session = await uow.web.session(session_hash)
                if session is None or now - session.last_seen > IDLE_LIMIT:
                    return view.refusal(locale, _SIGNED_OUT, 401)
                channel, _, external_id = session.account.partition(":")
                role = await role_of(uow, channel, external_id, self.app.services.admins)
                if not allowed(role, Action.WEB_CONSOLE):  # revoked since: the session ends
                    await uow.web.end(session_hash, now)
                    return view.refusal(locale, _NOT_STAFF)
                if now - session.last_seen > timedelta(minutes=1):
                    await uow.web.touch(session_hash, now)
                member = role.staff or await uow.staff.by_account(channel, external_id)
            if request.method == "POST":
                form = await request.post()
                sent = str(form.get("csrf") or "")
                if not hmac.compare_digest(sent, session.csrf):
                    return view.refusal(locale, t("web.csrf"))
            name = view.person(locale, session.account, member)
            visit = Visit(session.account, role, session.csrf, locale, session_hash, name)
            response = await page(request, visit)
            if request.query.get("lang") in LOCALES:
                response.set_cookie(
                    LOCALE_COOKIE, request.query["lang"], httponly=True, samesite="Strict",
                    secure=self.secure, path="/",
                )  # fmt: skip
            return response

        return handle

    def returning(self, page: Page) -> Handler:
        """``page`` at an address another site sends the browser back to (a platform's OAuth
        redirect). The session's cookie is SameSite=Strict, so the browser leaves it out of a
        navigation that comes from another site, through a redirect too (MDN, Set-Cookie,
        ``SameSite=Strict``: sent only with requests that start on the cookie's own site).
        Without it, the answer is a page of this site that loads the same address again
        (``<meta http-equiv="refresh">``: no script runs on the console); that navigation
        starts here, carries the cookie and is served through the guard as any page. The
        first answer reads nothing and changes nothing; a second arrival without the cookie
        (no session in this browser) gets the guard's refusal."""
        guarded = self.guard(page)

        async def handle(request: web.Request) -> web.StreamResponse:
            if request.cookies.get(COOKIE) or RETURNED in request.query:
                return await guarded(request)
            locale = self.view.locale_of(request)
            if len(request.query_string) > 4000:
                return self.view.refusal(locale, _LINK_INVALID, 400)
            again = request.rel_url.update_query({RETURNED: "1"})
            return self.view.render(locale, "returning.html", target=str(again))

        return handle

    async def sign_in_page(self, request: web.Request) -> web.StreamResponse:
        """Opening the link only shows a button: the chat apps fetch a link's page for its
        preview (Telegram's and Zalo's servers do, for a link in a message), and a GET that
        used the link up would leave the staff member a used link. The POST signs in."""
        locale = self.view.locale_of(request)
        token = request.match_info["token"]
        if len(token) > 100:
            return self.view.refusal(locale, _LINK_INVALID)
        return self.view.render(locale, "signin.html", action=f"/console/signin/{token}")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        view = self.view
        locale = view.locale_of(request)
        token = request.match_info["token"]
        now = datetime.now(UTC)
        if len(token) > 100:
            return view.refusal(locale, _LINK_INVALID)
        async with self.app.store.transaction() as uow:
            account = await uow.web.use_sign_in(secret_hash(token), now)
            if account is None:
                return view.refusal(locale, _LINK_INVALID)
            channel, _, external_id = account.partition(":")
            role = await role_of(uow, channel, external_id, self.app.services.admins)
            if not allowed(role, Action.WEB_CONSOLE):
                return view.refusal(locale, _NOT_STAFF)
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
        response = self.view.refusal(visit.locale, t("web.signed_out.done"), 200)
        response.del_cookie(COOKIE, path="/")
        return response

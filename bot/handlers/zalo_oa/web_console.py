"""The web console's page of the wards' Official Accounts, for the accounts the permissions
table allows ``Action.CHANNELS`` (city admins): each connected OA with its ward and when its
tokens expire (Viet Nam's time), a form to connect a ward's OA with a refresh token its admin
granted (as ``cdht zalo-oa connect``), and the OAuth v4 PKCE flow run by the console itself,
so that an admin connects a ward's OA in the browser:

1. the admin picks a ward and presses connect (a POST carrying the session's CSRF token); the
   console makes a code verifier and its S256 challenge, keeps the verifier in the store bound
   to a one-time random ``state``, with the ward, the admin's account and a 10-minute expiry
   (``channel_state``, key ``pkce:<state>``; never in a URL), and sends the browser to Zalo's
   permission page with the challenge and the state;
2. the OA's admin grants the app access there, and Zalo sends the browser back to
   ``/console/zalo-oa/callback`` with ``code`` and ``state``;
3. the callback (signed-in admins: ``ChannelPages.add_returning`` brings the session's cookie,
   which Zalo's cross-site redirect leaves out) takes the state once (unknown, expired, another
   account's or used: refused, nothing stored) and exchanges the code with its verifier
   (``OaTokens.connect_code``), then shows the OA connected.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.domain.collation import collation_key
from bot.domain.permissions import Action, allowed, scope_of
from bot.engine import Text, t
from bot.handlers.web import SECURITY
from bot.handlers.web_console.view import local
from bot.handlers.zalo_oa.client import TokenRefused
from bot.handlers.zalo_oa.start import api_of
from bot.handlers.zalo_oa.tokens import CHANNEL, ConnectedOa, OaTokens
from bot.services.outbox import DeliveryError

if TYPE_CHECKING:
    from bot.handlers.web_console.auth import Visit
    from bot.handlers.web_console.channel_pages import ChannelPages
    from storage.repositories.store import SqlUnitOfWork

__all__ = ["CALLBACK", "PATH", "STATE_LIFE", "add_pages", "code_challenge", "permission_url"]

log = logging.getLogger(__name__)

PATH = "/console/zalo-oa"
CALLBACK = f"{PATH}/callback"
STATE_LIFE = timedelta(minutes=10)
STATE_PREFIX = "pkce:"
TOKEN_MAX = 2000  # characters of a pasted refresh token (Zalo's are a few hundred)

_ADMIN_ONLY = t("web.staff.admin_only")
_NOT_CONFIGURED = t("zalo_oa.web.not_configured")
_NO_PUBLIC_ADDRESS = t("zalo_oa.web.no_public_address")
_NO_WARD = t("zalo_oa.web.no_ward")
_NO_TOKEN = t("zalo_oa.web.token.empty")
_TOKEN_REFUSED = t("zalo_oa.web.token.refused")
_STATE_INVALID = t("zalo_oa.web.state.invalid")
_DENIED = t("zalo_oa.web.denied")
_CODE_REFUSED = t("zalo_oa.web.code.refused")
_UNREACHABLE = t("zalo_oa.web.unreachable")


def add_pages(pages: ChannelPages) -> None:
    """The page, its two forms and the callback, with a link for those allowed."""
    oas = OaPages(pages)
    pages.nav(PATH, t("zalo_oa.web.nav"), Action.CHANNELS)
    pages.add("GET", PATH, oas.page)
    pages.add("POST", f"{PATH}/connect", oas.connect)
    pages.add("POST", f"{PATH}/token", oas.token)
    pages.add_returning(CALLBACK, oas.callback)


def code_challenge(verifier: str) -> str:
    """PKCE's S256 challenge: BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def permission_url(
    oauth_url: str, app_id: str, redirect_uri: str, challenge: str, state: str
) -> str:
    """Zalo's page where an OA's admin grants the app access. The path and ``app_id``,
    ``redirect_uri``, ``state``: @warriorteam/redai-zalo-sdk 1.32.17 (docs/AUTHENTICATION.md,
    «https://oauth.zaloapp.com/v4/oa/permission?app_id=xxx&redirect_uri=xxx&state=…», and
    ``oaPermission`` in dist/services/auth.service.js); PKCE's ``code_challenge`` and
    ``code_challenge_method`` (``'S256' | 'plain'``) are the same SDK's ``OAuthParams``
    (dist/types/auth.d.ts), as RFC 7636 §4.3 names them. Zalo sends the browser back to
    ``redirect_uri`` (registered as the app's callback URL) with ``code``, ``oa_id`` and
    ``state``."""
    query = {
        "app_id": app_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    return f"{oauth_url}/v4/oa/permission?{urlencode(query)}"


def _policy(oauth_url: str) -> str:
    """The server's policy, with Zalo's OAuth server among the places a form may lead: the
    connect form's answer redirects there, and Chrome applies ``form-action`` to the redirects
    after a form's POST too (MDN, CSP form-action: «Firefox 57 doesn't block the redirects
    whereas Chrome 63 does»), so ``form-action 'self'`` alone would stop the browser."""
    parts = urlsplit(oauth_url)
    policy = SECURITY["Content-Security-Policy"]
    return policy.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )


class OaPages:
    """``/console/zalo-oa``, its forms and the callback of the PKCE flow."""

    def __init__(self, pages: ChannelPages) -> None:
        self.pages = pages
        self.view = pages.view
        self.app = pages.app

    # -- the page --------------------------------------------------------------------------

    async def page(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        if not allowed(visit.role, Action.CHANNELS):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        return await self._render(visit, connected=request.query.get("connected"))

    async def _render(
        self,
        visit: Visit,
        *,
        connected: str | None = None,
        error: Text | None = None,
        status: int = 200,
    ) -> web.StreamResponse:
        settings, locale, wards = self.app.settings, visit.locale, self.app.wards
        configured = bool(settings.zalo_oa_app_id)
        oas: list[ConnectedOa] = []
        if configured:
            async with self._tokens() as tokens:
                oas = await tokens.all()
        now = datetime.now(UTC)
        rows = sorted(
            (
                {
                    "id": oa.oa_id,
                    "name": oa.name or "—",
                    "ward": wards.name_of(oa.ward_code, oa.ward_code),
                    "access": local(oa.expires_at),
                    "refresh": local(oa.refresh_expires_at),
                    "expired": oa.refresh_expires_at <= now,
                }
                for oa in oas
            ),
            key=lambda row: (collation_key(str(row["ward"])), str(row["id"])),
        )
        note = None
        just = next((oa for oa in oas if oa.oa_id == connected), None)
        if just is not None:
            note = self.view.say(
                locale,
                t(
                    "zalo_oa.web.connected",
                    oa=just.name or just.oa_id,
                    ward=wards.name_of(just.ward_code, just.ward_code),
                    until=local(just.expires_at),
                ),
            )
        response = self.view.render(
            locale, self.pages.template("oas.html"), status, visit=visit, page=self.pages.page,
            configured=configured, rows=rows, note=note,
            error=self.view.say(locale, error) if error is not None else None,
            wards=self.view.ward_choices(scope_of(visit.role, Action.CHANNELS)),
        )  # fmt: skip
        if configured:
            response.headers["Content-Security-Policy"] = _policy(settings.zalo_oa_oauth_url)
        return response

    # -- connecting in the browser: OAuth v4 with PKCE -------------------------------------

    async def connect(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """Keep a verifier for a new state, and send the browser to Zalo's permission page."""
        if not allowed(visit.role, Action.CHANNELS):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        settings = self.app.settings
        if not settings.zalo_oa_app_id:
            return await self._render(visit, error=_NOT_CONFIGURED, status=400)
        if not settings.public_base_url:  # Zalo must send the browser back to a public address
            return await self._render(visit, error=_NO_PUBLIC_ADDRESS, status=400)
        ward = self._ward(visit, (await request.post()).get("ward"))
        if ward is None:
            return await self._render(visit, error=_NO_WARD, status=400)
        # 86 characters of [A-Za-z0-9_-]: RFC 7636 §4.1 asks for 43 to 128 unreserved ones
        verifier = secrets.token_urlsafe(64)
        state = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        value = {
            "verifier": verifier,
            "ward": ward,
            "account": visit.account,
            "expires_at": (now + STATE_LIFE).isoformat(),
        }
        async with self.app.store.transaction() as uow:
            await _forget_expired(uow, now)
            await uow.channel_state.create(CHANNEL, STATE_PREFIX + state, value, now)
        target = permission_url(
            settings.zalo_oa_oauth_url,
            settings.zalo_oa_app_id,
            f"{settings.public_base_url}{CALLBACK}",
            code_challenge(verifier),
            state,
        )
        raise web.HTTPSeeOther(target)

    async def callback(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """Where Zalo sends the browser back: the state taken once, the code exchanged."""
        locale = visit.locale
        if not allowed(visit.role, Action.CHANNELS):
            return self.view.refusal(locale, _ADMIN_ONLY)
        if not self.app.settings.zalo_oa_app_id:
            return self.view.refusal(locale, _NOT_CONFIGURED, 400)
        taken = await self._take(request.query.get("state", ""), visit)
        if taken is None:
            return self.view.refusal(locale, _STATE_INVALID, 400)
        code = request.query.get("code", "")
        if not code or len(code) > TOKEN_MAX:  # the OA's admin did not grant access
            return self.view.refusal(locale, _DENIED, 400)
        ward = str(taken["ward"])
        if not allowed(visit.role, Action.CHANNELS, ward):
            return self.view.refusal(locale, _ADMIN_ONLY)
        try:
            async with self._tokens() as tokens:
                oa = await tokens.connect_code(ward, code, str(taken["verifier"]))
        except TokenRefused:
            return self.view.refusal(locale, _CODE_REFUSED, 400)
        except DeliveryError as exc:
            log.warning("zalo_oa: connecting on the web console: %s", exc)
            return self.view.refusal(locale, _UNREACHABLE, 502)
        log.info("zalo_oa: OA %s connected to ward %s by %s", oa.oa_id, ward, visit.account)
        raise self._connected(oa)

    async def _take(self, state: str, visit: Visit) -> Mapping[str, Any] | None:
        """The state's verifier and ward, removed in the same transaction (one use, whoever
        presents it); None for an unknown, used or expired state, or another account's."""
        if not 20 <= len(state) <= 100:
            return None
        key = STATE_PREFIX + state
        async with self.app.store.transaction() as uow:
            found = await uow.channel_state.get(CHANNEL, key)
            if found is None or not await uow.channel_state.remove(CHANNEL, key):
                return None  # never issued, or taken already (by a concurrent request too)
        value = found[0]
        expires_at = datetime.fromisoformat(str(value.get("expires_at")))
        if expires_at <= datetime.now(UTC) or value.get("account") != visit.account:
            return None
        return value

    # -- connecting with a refresh token ---------------------------------------------------

    async def token(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """As ``cdht zalo-oa connect``: the pasted token is spent once, the OA stored."""
        if not allowed(visit.role, Action.CHANNELS):
            return self.view.refusal(visit.locale, _ADMIN_ONLY)
        if not self.app.settings.zalo_oa_app_id:
            return await self._render(visit, error=_NOT_CONFIGURED, status=400)
        form = await request.post()
        ward = self._ward(visit, form.get("ward"))
        if ward is None:
            return await self._render(visit, error=_NO_WARD, status=400)
        token = str(form.get("refresh_token") or "").strip()
        if not token or len(token) > TOKEN_MAX:
            return await self._render(visit, error=_NO_TOKEN, status=400)
        try:
            async with self._tokens() as tokens:
                oa = await tokens.connect(ward, token)
        except TokenRefused:
            return await self._render(visit, error=_TOKEN_REFUSED, status=400)
        except DeliveryError as exc:
            log.warning("zalo_oa: connecting on the web console: %s", exc)
            return await self._render(visit, error=_UNREACHABLE, status=502)
        log.info("zalo_oa: OA %s connected to ward %s by %s", oa.oa_id, ward, visit.account)
        raise self._connected(oa)

    # -- shared ----------------------------------------------------------------------------

    @staticmethod
    def _connected(oa: ConnectedOa) -> web.HTTPSeeOther:
        """Back to the page, which names the OA just connected (reloading it sends nothing
        again: the spent token or state is not in the address)."""
        return web.HTTPSeeOther(f"{PATH}?{urlencode({'connected': oa.oa_id})}")

    def _ward(self, visit: Visit, raw: object) -> str | None:
        """The ward a form names, if it is one the account may connect an OA for."""
        code = str(raw or "")
        if self.app.wards.get(code) is None or not allowed(visit.role, Action.CHANNELS, code):
            return None
        return code

    @asynccontextmanager
    async def _tokens(self) -> AsyncIterator[OaTokens]:
        tokens = OaTokens(api_of(self.app.settings), self.app.store)
        try:
            yield tokens
        finally:
            await tokens.api.close()


async def _forget_expired(uow: SqlUnitOfWork, now: datetime) -> None:
    """States nobody came back with (a flow left on Zalo's page) go when a new one starts."""
    for key, (value, _) in (await uow.channel_state.all(CHANNEL, STATE_PREFIX)).items():
        if datetime.fromisoformat(str(value.get("expires_at"))) <= now:
            await uow.channel_state.remove(CHANNEL, key)

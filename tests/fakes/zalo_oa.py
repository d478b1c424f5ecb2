"""A fake Zalo Official Account platform on 127.0.0.1: the OAuth v4 server (token refresh with
single-use refresh tokens, the PKCE authorization code), the OA API (``getoa``, consultation
messages with the 7-day rule), the template (ZBS) endpoint, files served from attachment URLs,
and signed webhook events pushed to the bot.

Sources, beside what they decide here:

- Tokens: an access token lives 25 hours (``expires_in`` 90000), a refresh token 3 months and
  ONCE; refreshing returns a new pair and the old access token stops working (the issue's
  "The platform, as documented", from developers.zalo.me/docs/official-account/bat-dau/
  xac-thuc-va-uy-quyen-cho-ung-dung-new). Live answers carry ``expires_in`` as a STRING
  ("90000"): a client's test fixture in the public record fakes
  ``oauth.zaloapp.com/v4/oa/access_token`` answering ``'expires_in' => '90000'``; the client
  must take either. A refused refresh answers ``error`` with ``error_name`` and
  ``error_description`` and no token (the same public clients read ``error_description`` /
  ``error_name`` on failure).
- The refresh request is form-encoded (``app_id``, ``grant_type``, ``refresh_token``) with the
  app secret in a ``secret_key`` header, as every public client of ``/v4/oa/access_token``
  sends it; the PKCE code exchange sends ``code`` and ``code_verifier`` the same way.
- API errors answer HTTP 200 with ``{"error": <negative>, "message": …}``: −216 invalid access
  token, −124 expired, −230 the user has not interacted with the OA in 7 days, −213 the user
  does not follow the OA, −32 the app's 4,000 requests a minute exceeded (the issue's list).
- Webhook events carry ``app_id``, ``event_name``, ``timestamp`` (milliseconds, a string),
  ``sender.id``, ``recipient.id`` (the OA for a user's message), ``user_id_by_app`` and
  ``message`` (``msg_id``, ``text``, ``attachments`` with ``type`` and ``payload.url``, a
  file's ``payload.name`` and ``payload.size``); header ``X-ZEvent-Signature: mac=<hex>`` with
  mac = SHA-256 of ``app_id + raw body + timestamp + OA secret key``, a plain hash
  (chatwoot/chatwoot app/jobs/webhooks/zalo_events_job.rb ``validate_signature``;
  attachments: chatwoot app/services/zalo/incoming_message_service.rb ``attach_media``).
  Delivery events (``user_received_message``, ``user_seen_message``) come from the OA
  (``sender.id`` is the OA: chatwoot's ``delivery_event?``) and carry no message to answer.
- Template (ZBS) answers: ``error`` 0 with ``data.msg_id``, ``data.sent_time`` and
  ``data.quota`` whose ``dailyQuota`` and ``remainingQuota`` are STRINGS (a public thrift
  definition of the answer: ``struct Quota {dailyQuota: string, remainingQuota: string}``).
  The code for "out of today's quota" is in none of our sources: −1124 is this fake's own, and
  the client reads any refusal of a template other than the token and rate codes as a
  refusal named by its code.
- Live servers sometimes answer an HTML error page (a gateway's 502) where JSON was expected;
  ``html_errors`` makes the next calls do that.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

APP_ID = "3105410000000001"
APP_SECRET = "app-secret-for-tests"
OA_SECRET_KEY = "oa-secret-key-for-tests"

ACCESS_LIFE = 25 * 3600  # seconds
REFRESH_LIFE = 90 * 24 * 3600
WINDOW = 7 * 24 * 3600  # consultation messages reach users who interacted this recently


@dataclass
class OaCall:
    path: str
    oa_id: str | None  # whose access token the call carried (None: refused or OAuth)
    body: dict[str, Any]


@dataclass
class FakeOa:
    oa_id: str
    name: str
    followers: set[str] = field(default_factory=set)
    last_interaction: dict[str, float] = field(default_factory=dict)  # user id -> time


@dataclass
class _Refresh:
    oa_id: str
    expires_at: float
    used: bool = False


@dataclass
class FakeZaloOA:
    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    oa_secret_key: str = OA_SECRET_KEY
    clock: Callable[[], float] = time.time
    oas: dict[str, FakeOa] = field(default_factory=dict)
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> oa, expiry
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # code -> oa, challenge
    calls: list[OaCall] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    rate_limited: int = 0  # the next N message calls answer −32
    html_errors: int = 0  # the next N calls answer an HTML 502 page
    template_quota: int = 1000  # template messages left today
    refreshes: int = 0  # refresh requests answered with a new pair
    reused_refresh: int = 0  # refresh tokens presented again after their one use
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeZaloOA:
        app = web.Application()
        app.router.add_post("/v4/oa/access_token", self._token)
        app.router.add_get("/v4/oa/permission", self._permission)
        app.router.add_get("/v2.0/oa/getoa", self._getoa)
        app.router.add_post("/v3.0/oa/message/cs", self._cs)
        app.router.add_post("/message/template", self._template)
        app.router.add_get("/files/{name}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the OA's admin grants the app access ----------------------------------------------

    def add_oa(self, oa_id: str, name: str) -> FakeOa:
        oa = self.oas[oa_id] = FakeOa(oa_id, name)
        return oa

    def grant(self, oa_id: str) -> str:
        """A refresh token for the OA, as the OA's admin granting the app access produces."""
        token = f"rt-{oa_id}-{secrets.token_hex(6)}"
        self.refresh[token] = _Refresh(oa_id, self.clock() + REFRESH_LIFE)
        return token

    def expire_access(self, oa_id: str) -> None:
        """Every access token of the OA expires now (25 hours passed)."""
        for token, (owner, _) in list(self.access.items()):
            if owner == oa_id:
                self.access[token] = (owner, self.clock() - 1)

    def valid_access(self, oa_id: str) -> list[str]:
        now = self.clock()
        return [t for t, (o, exp) in self.access.items() if o == oa_id and exp > now]

    # -- users acting on the OA ------------------------------------------------------------

    def event(
        self,
        oa_id: str,
        user_id: str,
        event_name: str = "user_send_text",
        *,
        text: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        msg_id: str | None = None,
        signature: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook event's raw body and headers, signed as the platform signs it (a wrong
        ``signature`` replaces the mac). A user's message counts as an interaction."""
        now = self.clock()
        oa = self.oas[oa_id]
        if event_name.startswith("user_send_") or event_name == "follow":
            oa.last_interaction[user_id] = now
        if event_name == "follow":
            oa.followers.add(user_id)
        if event_name == "unfollow":
            oa.followers.discard(user_id)
        timestamp = str(int(now * 1000))
        body: dict[str, Any] = {
            "app_id": self.app_id,
            "event_name": event_name,
            "timestamp": timestamp,
            "sender": {"id": user_id},
            "recipient": {"id": oa_id},
            "user_id_by_app": f"app-{user_id}",
        }
        if event_name in ("follow", "unfollow"):
            body["follower"] = {"id": user_id}
        if event_name in ("user_received_message", "user_seen_message"):
            body["sender"], body["recipient"] = {"id": oa_id}, {"id": user_id}
        if event_name.startswith("user_send_") or text is not None or attachments:
            message: dict[str, Any] = {"msg_id": msg_id or f"m{next(self._ids)}"}
            if text is not None:
                message["text"] = text
            if attachments:
                message["attachments"] = attachments
            body["message"] = message
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        mac = signature if signature is not None else self.mac(raw, timestamp)
        return raw, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}

    def mac(self, raw: bytes, timestamp: str) -> str:
        signed = self.app_id.encode() + raw + timestamp.encode() + self.oa_secret_key.encode()
        return hashlib.sha256(signed).hexdigest()

    def host_file(self, name: str, data: bytes, mime: str = "image/jpeg") -> str:
        self.files[name] = (data, mime)
        return f"{self.url}/files/{name}"

    async def post_event(self, url: str, raw: bytes, headers: dict[str, str]) -> int:
        """POST an event to the bot's webhook as the platform does, again after a 503 (the
        bot not ready, its database away: the platform retries what got no 200); the last
        HTTP status."""
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                async with session.post(url, data=raw, headers=headers) as response:
                    if response.status != 503:
                        return response.status
                await asyncio.sleep(0.05)
        return 503

    # -- what the bot sent ---------------------------------------------------------------

    def sent(self, user_id: str, oa_id: str | None = None) -> list[str]:
        return [
            str(c.body.get("message", {}).get("text", ""))
            for c in self.calls
            if c.path == "cs"
            and c.body.get("recipient", {}).get("user_id") == user_id
            and (oa_id is None or c.oa_id == oa_id)
            and c.body.get("_ok")
        ]

    def templates(self) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path == "template" and c.body.get("_ok")]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    # -- the server ------------------------------------------------------------------------

    async def _record(self, path: str, oa_id: str | None, body: dict[str, Any]) -> None:
        async with self._changed:
            self.calls.append(OaCall(path, oa_id, body))
            self._changed.notify_all()

    def _html(self) -> web.Response | None:
        if self.html_errors:
            self.html_errors -= 1
            return web.Response(
                status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )  # fmt: skip
        return None

    def _oa_of(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        token = request.headers.get("access_token", "")
        found = self.access.get(token)
        if found is None:
            return None, web.json_response({"error": -216, "message": "Access token is invalid"})
        oa_id, expires_at = found
        if expires_at <= self.clock():
            return None, web.json_response({"error": -124, "message": "Access token has expired"})
        return oa_id, None

    def _pair(self, oa_id: str) -> dict[str, Any]:
        for token, (owner, _) in list(self.access.items()):
            if owner == oa_id:  # the old access token stops working
                del self.access[token]
        access = f"at-{oa_id}-{secrets.token_hex(8)}"
        self.access[access] = (oa_id, self.clock() + ACCESS_LIFE)
        refresh = f"rt-{oa_id}-{secrets.token_hex(8)}"
        self.refresh[refresh] = _Refresh(oa_id, self.clock() + REFRESH_LIFE)
        self.refreshes += 1
        return {"access_token": access, "refresh_token": refresh, "expires_in": str(ACCESS_LIFE)}

    @staticmethod
    def _refused(name: str, description: str, code: int) -> web.Response:
        return web.json_response(
            {"error": code, "error_name": name, "error_description": description}
        )

    async def _token(self, request: web.Request) -> web.Response:
        if (html := self._html()) is not None:
            return html
        form = dict(await request.post())
        await self._record("token", None, {k: str(v) for k, v in form.items()})
        if (
            request.headers.get("secret_key") != self.app_secret
            or form.get("app_id") != self.app_id
        ):
            return self._refused("Invalid app", "app_id or secret_key is wrong", -14002)
        if form.get("grant_type") == "refresh_token":
            found = self.refresh.get(str(form.get("refresh_token", "")))
            if found is None or found.expires_at <= self.clock():
                return self._refused("Invalid refresh token", "refresh token is invalid", -14014)
            if found.used:
                self.reused_refresh += 1
                return self._refused("Invalid refresh token", "refresh token was used", -14014)
            found.used = True
            return web.json_response(self._pair(found.oa_id))
        if form.get("grant_type") == "authorization_code":
            code = self.codes.pop(str(form.get("code", "")), None)
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if code is None or code[1] != challenge:
                return self._refused("Invalid code", "code or code_verifier is wrong", -14019)
            return web.json_response(self._pair(code[0]))
        return self._refused("Invalid grant", "grant_type is not supported", -14003)

    async def _permission(self, request: web.Request) -> web.Response:
        """The page where an OA's admin grants the app access: here, it grants at once for
        the OA named by the test (``oa_id`` in the query, else the first OA) and redirects
        to ``redirect_uri`` with ``code``, ``oa_id`` and ``state``."""
        query = request.query
        if (
            query.get("app_id") != self.app_id
            or query.get("code_challenge_method", "S256") != "S256"
        ):
            return web.Response(status=400, text="bad request")
        oa_id = query.get("oa_id") or next(iter(self.oas))
        code = f"code-{secrets.token_hex(6)}"
        self.codes[code] = (oa_id, query.get("code_challenge", ""), query.get("state", ""))
        back = {"code": code, "oa_id": oa_id, "state": query.get("state", "")}
        target = f"{query['redirect_uri']}?{urlencode(back)}"
        raise web.HTTPFound(target)

    async def _getoa(self, request: web.Request) -> web.Response:
        if (html := self._html()) is not None:
            return html
        oa_id, refused = self._oa_of(request)
        await self._record("getoa", oa_id, {})
        if refused is not None or oa_id is None:
            return refused or web.json_response({"error": -216})
        oa = self.oas[oa_id]
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"oa_id": oa.oa_id, "name": oa.name}}
        )

    async def _cs(self, request: web.Request) -> web.Response:
        if (html := self._html()) is not None:
            return html
        oa_id, refused = self._oa_of(request)
        body = await request.json()
        if refused is not None or oa_id is None:
            await self._record("cs", None, body)
            return refused or web.json_response({"error": -216})
        if self.rate_limited:
            self.rate_limited -= 1
            await self._record("cs", oa_id, body)
            return web.json_response({"error": -32, "message": "Rate limit exceeded"})
        user = str(body.get("recipient", {}).get("user_id", ""))
        text = str(body.get("message", {}).get("text", ""))
        oa = self.oas[oa_id]
        seen = oa.last_interaction.get(user)
        if len(text) > 2000:
            answer: dict[str, Any] = {"error": -201, "message": "Text is too long"}
        elif seen is None and user not in oa.followers:
            answer = {"error": -213, "message": "User has not followed the OA"}
        elif seen is None or self.clock() - seen > WINDOW:
            answer = {"error": -230, "message": "User has not interacted with the OA in 7 days"}
        else:
            answer = {
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"oa{next(self._ids)}", "user_id": user},
            }
        await self._record("cs", oa_id, {**body, "_ok": answer["error"] == 0})
        return web.json_response(answer)

    async def _template(self, request: web.Request) -> web.Response:
        if (html := self._html()) is not None:
            return html
        oa_id, refused = self._oa_of(request)
        body = await request.json()
        if refused is not None or oa_id is None:
            await self._record("template", None, body)
            return refused or web.json_response({"error": -216})
        if self.template_quota <= 0:
            await self._record("template", oa_id, body)
            return web.json_response({"error": -1124, "message": "Out of daily quota"})
        self.template_quota -= 1
        await self._record("template", oa_id, {**body, "_ok": True})
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {
                    "msg_id": f"t{next(self._ids)}",
                    "sent_time": str(int(self.clock() * 1000)),
                    "quota": {"dailyQuota": "1000", "remainingQuota": str(self.template_quota)},
                },
            }
        )

    async def _file(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

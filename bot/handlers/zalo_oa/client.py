"""A thin async client of the Zalo Official Account API (Zalo publishes no Python SDK for it):
the OAuth v4 token endpoint, ``getoa``, consultation messages and template (ZBS) messages.
Each call takes the access token it runs with; ``tokens.py`` keeps the tokens. Sources for each
behaviour are named in the fake server the tests run against (tests/fakes/zalo_oa.py).

Zalo's answers become the sender's neutral errors; no token or secret ever appears in one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.handlers.zalo_oa.parse import json_object
from bot.services.outbox import RateLimited, Rejected, Transient, Unreachable, Waiting

__all__ = [
    "API_URL",
    "BUSINESS_URL",
    "OAUTH_URL",
    "Disconnected",
    "OaApi",
    "OaIdentity",
    "OutsideWindow",
    "TokenInvalid",
    "TokenPair",
    "TokenRefused",
]

log = logging.getLogger(__name__)

API_URL = "https://openapi.zalo.me"
OAUTH_URL = "https://oauth.zaloapp.com"
BUSINESS_URL = "https://business.openapi.zalo.me"

# error codes of the OA API (the list; see tests/fakes/zalo_oa.py)
TOKEN_ERRORS = (-216, -124)  # invalid, expired: refresh once and retry
OUTSIDE_WINDOW = -230  # the user has not interacted with the OA in the last 7 days
NOT_FOLLOWER = -213  # the user does not follow the OA
RATE_ERRORS = (-32, -218)  # the app's 4,000 a minute; a per-user limit


class TokenInvalid(Exception):
    """The access token was refused (expired, or replaced by a refresh)."""


class TokenRefused(Exception):
    """The OAuth server refused a refresh token or a code: the OA must be connected again."""


class Disconnected(Waiting):
    """The OA's refresh token was refused: nothing can be sent through it until an admin
    connects it again. Its messages wait (tried again every 5 minutes) instead of failing,
    and the other OAs' go on at their pace."""

    def __init__(self) -> None:
        super().__init__("the OA is to be connected again", 300.0)


class OutsideWindow(Rejected):
    """A consultation message to someone who has not written to the OA in 7 days: only an
    approved template reaches them."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid


@dataclass(frozen=True, slots=True)
class OaIdentity:
    oa_id: str
    name: str


class OaApi:
    """One Zalo app's calls (the city association's app; each ward's OA granted it access)."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        api_url: str = API_URL,
        oauth_url: str = OAUTH_URL,
        business_url: str = BUSINESS_URL,
        timeout: float = 20,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self._api = api_url.rstrip("/")
        self._oauth = oauth_url.rstrip("/")
        self._business = business_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def oauth_url(self) -> str:
        return self._oauth

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._closed:  # never reopened behind the back of whoever closed it
            raise Transient("the Zalo OA client is closed")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

    # -- tokens ----------------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trade a refresh token (single use) for a new pair."""
        return await self._token(
            {"app_id": self.app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def exchange_code(self, code: str, code_verifier: str) -> TokenPair:
        """The PKCE authorization code an OA's admin granted, for the OA's first pair."""
        return await self._token(
            {
                "app_id": self.app_id,
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
            }
        )

    async def _token(self, form: dict[str, str]) -> TokenPair:
        url = f"{self._oauth}/v4/oa/access_token"
        data = await self._request("POST", url, "access_token", form=form, secret=True)
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access:
            name = str(data.get("error_name") or data.get("error") or "no token")[:80]
            raise TokenRefused(name)
        try:
            expires_in = int(data.get("expires_in") or 0)  # a string in live answers
        except (TypeError, ValueError):
            expires_in = 0
        return TokenPair(access, refresh, expires_in or 25 * 3600)

    # -- the OA ----------------------------------------------------------------------------

    async def get_oa(self, access_token: str) -> OaIdentity:
        data = await self._api_call("GET", f"{self._api}/v2.0/oa/getoa", "getoa", access_token)
        info = json_object(data.get("data"))
        oa_id, name = info.get("oa_id"), info.get("name")
        if oa_id is None:
            raise Transient("getoa: no oa_id")
        return OaIdentity(str(oa_id), str(name or ""))

    async def send_text(self, access_token: str, user_id: str, text: str) -> str:
        """A consultation message; its message id."""
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        url = f"{self._api}/v3.0/oa/message/cs"
        data = await self._api_call("POST", url, "cs", access_token, json=body)
        return str(json_object(data.get("data")).get("message_id") or "")

    async def send_template(
        self,
        access_token: str,
        template_id: str,
        template_data: dict[str, str],
        tracking_id: str,
        *,
        user_id: str | None = None,
        phone: str | None = None,
    ) -> int | None:
        """A pre-approved template (paid per message), to a Zalo user id or a phone (84…);
        the quota left today when Zalo says."""
        body: dict[str, Any] = {
            "template_id": template_id,
            "template_data": template_data,
            "tracking_id": tracking_id,
        }
        if user_id is not None:
            body["user_id"] = user_id
        if phone is not None:
            body["phone"] = phone
        url = f"{self._business}/message/template"
        data = await self._api_call("POST", url, "template", access_token, json=body)
        left = json_object(json_object(data.get("data")).get("quota")).get("remainingQuota")
        try:
            return int(str(left))  # a string in the answer
        except ValueError:
            return None

    async def download(self, url: str, limit: int) -> bytes:
        """An attachment's bytes (``payload.url``), refused beyond ``limit`` bytes."""
        try:
            async with self.session.get(url) as response:
                if response.status != 200:
                    raise Rejected(f"file: HTTP {response.status}")
                data = await response.content.read(limit + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"file: {type(exc).__name__}") from None
        if len(data) > limit:
            raise Rejected("file: too large")
        return data

    # -- the HTTP exchange -----------------------------------------------------------------

    async def _api_call(
        self, method: str, url: str, name: str, access_token: str, **kwargs: Any
    ) -> dict[str, Any]:
        data = await self._request(method, url, name, token=access_token, **kwargs)
        try:
            code = int(data.get("error") or 0)
        except (TypeError, ValueError):
            code = 0
        if code == 0:
            return data
        if code in TOKEN_ERRORS:
            raise TokenInvalid(f"{name}: {code}")
        if code in RATE_ERRORS:
            raise RateLimited(60.0 if code == -32 else 5.0)
        if code == OUTSIDE_WINDOW:
            raise OutsideWindow(f"{name}: {code} outside the 7-day window")
        if code == NOT_FOLLOWER:
            raise Unreachable(f"{name}: {code} not a follower")
        raise Rejected(f"{name}: {code}")

    async def _request(
        self,
        method: str,
        url: str,
        name: str,
        *,
        token: str | None = None,
        form: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        secret: bool = False,
    ) -> dict[str, Any]:
        headers = {}
        if token is not None:
            headers["access_token"] = token
        if secret:
            headers["secret_key"] = self._secret
        try:
            async with self.session.request(
                method, url, headers=headers, data=form, json=json
            ) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:  # an HTML error page where JSON was expected
                    raise Transient(f"{name}: HTTP {status}, not JSON") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"{name}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise Transient(f"{name}: HTTP {status}, not an object")
        if status >= 500:
            raise Transient(f"{name}: HTTP {status}")
        return data

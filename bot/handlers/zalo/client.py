"""A small async client for the Zalo Bot Platform (a Telegram-like HTTPS API)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.handlers.zalo.description import OFFICIAL_ZALO_API
from bot.services.outbox import RateLimited, Rejected, Transient

__all__ = ["OFFICIAL_ZALO_API", "ZaloAuthError", "ZaloClient"]

log = logging.getLogger(__name__)


class ZaloAuthError(Exception):
    """The token was refused."""


class ZaloClient:
    def __init__(self, token: str, base_url: str = OFFICIAL_ZALO_API, timeout: float = 40) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, **params: Any) -> Any:
        """POST a method; Zalo's errors become the neutral ones (the token never in them)."""
        url = f"{self._base}/bot{self._token}/{method}"
        body = {key: value for key, value in params.items() if value is not None}
        try:
            async with self.session.post(url, json=body) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"{method}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            data = {}
        try:
            code = int(data.get("error_code") or status)
        except (TypeError, ValueError):
            code = status
        if status == 200 and data.get("ok", False):
            return data.get("result")
        description = str(data.get("description") or "")[:200]
        if code == 408:
            return None  # long poll ended with nothing
        if code == 429:
            raise RateLimited(_retry_after(data, response.headers.get("Retry-After")))
        if code == 401:
            raise ZaloAuthError(f"{method}: unauthorized")
        if code == 403:
            # The Bot Platform documents 403 as an internal server error, not as "blocked by the
            # user" (../shared/DOMAIN.md, Channels): retry it, never stop writing to the person.
            raise Transient(f"{method}: 403 {description}")
        if code in (400, 404):
            raise Rejected(f"{method}: {description or code}")
        raise Transient(f"{method}: {code} {description}")

    async def get_me(self) -> Any:
        return await self.call("getMe")

    async def get_updates(self, timeout: int = 30) -> dict[str, Any] | None:  # noqa: ASYNC109
        """One update, or None when the long poll ended idle (HTTP 408)."""
        result = await self.call("getUpdates", timeout=str(timeout))
        return result if isinstance(result, dict) and result else None

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        return await self.call("setWebhook", url=url, secret_token=secret_token)

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> Any:
        return await self.call("getWebhookInfo")

    async def send_message(self, chat_id: str, text: str) -> Any:
        return await self.call("sendMessage", chat_id=chat_id, text=text)

    async def send_photo(self, chat_id: str, photo: str, caption: str | None = None) -> Any:
        return await self.call("sendPhoto", chat_id=chat_id, photo=photo, caption=caption)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", chat_id=chat_id, action=action)


def _retry_after(data: dict[str, Any], header: str | None) -> float:
    parameters = data.get("parameters")
    raw = parameters.get("retry_after") if isinstance(parameters, dict) else None
    for value in (raw, header):
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 0 < seconds <= 3600:
            return seconds
    return 1.0

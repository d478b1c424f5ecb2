"""A fake Zalo Bot Platform server on 127.0.0.1: one update per getUpdates call, 408 when idle,
string ids, text messages, image messages with a photo URL it also hosts, stickers.

Where the live platform differs from its documentation (https://bot.zaloplatforms.com/docs/),
this fake follows the live platform, and says so beside the behaviour:

- Image events carry the picture's address in ``message.photo_url``; the documentation says
  ``photo``. The official SDK reads ``photo_url`` (python-zalo-bot, zalo_bot/_message.py,
  ``Message.de_json``), and openclaw/openclaw fixed images it dropped by reading it (pull
  requests 49172 and 51543, "Zalo inbound image events arrived with message.photo_url").
- 403 is documented as an internal server error, not as "the user blocked the bot"
  (../shared/DOMAIN.md, Channels): ``server_errors`` answers with it.
- ``message.unsupported.received`` replaces the content for some accounts (children's, for
  instance): the event carries no text and no photo (../shared/DOMAIN.md).
- Replies go to ``chat.id`` (python-zalo-bot, ``Message.reply_text`` sends to ``chat.id``).
- getUpdates returns one update per call and 408 when the long poll ends idle; a webhook
  secret is 8 to 256 characters (../shared/DOMAIN.md; docs.beeblast.co/channels/zalo).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "3105:ZALO-test-secret-token"


@dataclass
class ZaloCall:
    method: str
    params: dict[str, Any]


@dataclass
class FakeZalo:
    token: str = TOKEN
    calls: list[ZaloCall] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    photos: dict[str, bytes] = field(default_factory=dict)
    rate_limited: int = 0  # the next N sendMessage calls answer 429
    server_errors: int = 0  # the next N sendMessage calls answer 403 (an internal error)
    next_message: int = 1
    closing: bool = False
    url: str = ""
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeZalo:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/photos/{name}", self._photo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        async with self._changed:
            self.closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _photo(self, request: web.Request) -> web.Response:
        data = self.photos.get(request.match_info["name"])
        return web.Response(status=404) if data is None else web.Response(body=data)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        method = request.match_info["method"]
        params = dict(await request.json()) if request.can_read_body else {}
        if method == "getUpdates":
            return await self._get_updates(float(params.get("timeout") or 0))
        async with self._changed:
            self.calls.append(ZaloCall(method, params))
            self._changed.notify_all()
        if method in ("sendMessage", "sendPhoto") and self.server_errors:
            self.server_errors -= 1
            return web.json_response(
                {"ok": False, "error_code": 403, "description": "Internal server error"},
                status=403,
            )
        if method in ("sendMessage", "sendPhoto") and self.rate_limited:
            self.rate_limited -= 1
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Quota exceeded"}, status=429
            )
        if method == "sendMessage" and len(params.get("text", "")) > 2000:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "text too long"}
            )
        if method in ("sendMessage", "sendPhoto"):
            self.next_message += 1
            return web.json_response(
                {
                    "ok": True,
                    "result": {"message_id": f"b{self.next_message}", "date": int(time.time())},
                }
            )
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": "bot1", "name": "CDHT"}})
        if method in ("setWebhook", "deleteWebhook", "sendChatAction"):
            return web.json_response({"ok": True, "result": True})
        if method == "getWebhookInfo":
            return web.json_response({"ok": True, "result": {"url": ""}})
        return web.json_response({"ok": False, "error_code": 404, "description": "Not found"})

    async def _get_updates(self, timeout: float) -> web.Response:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self.updates:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closing:
                    return web.json_response(
                        {"ok": False, "error_code": 408, "description": "Request timeout"},
                        status=408,
                    )
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue
            return web.json_response({"ok": True, "result": self.updates.pop(0)})

    # -- acting as users -----------------------------------------------------------------

    def update(
        self, user_id: str, event: str, chat_id: str | None = None, **content: Any
    ) -> dict[str, Any]:
        message = {
            "message_id": f"u{self.next_message}",
            "from": {"id": user_id, "name": "Dân", "is_bot": False},
            "chat": {"id": chat_id or user_id, "chat_type": "PRIVATE"},
            "date": int(time.time() * 1000),
            **content,
        }
        self.next_message += 1
        return {"event_name": f"message.{event}.received", "message": message}

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    async def send_text(self, user_id: str, text: str) -> dict[str, Any]:
        return await self.push(self.update(user_id, "text", text=text))

    async def send_image(
        self, user_id: str, name: str, data: bytes, caption: str = "", documented: bool = False
    ) -> None:
        """An image event as live Zalo sends it (``photo_url``), or as documented (``photo``)."""
        self.photos[name] = data
        key = "photo" if documented else "photo_url"
        address = f"{self.url}/photos/{name}"
        await self.push(self.update(user_id, "image", **{key: address, "caption": caption}))

    async def send_unsupported(self, user_id: str) -> None:
        await self.push(self.update(user_id, "unsupported"))

    async def send_sticker(self, user_id: str) -> None:
        await self.push(self.update(user_id, "sticker", sticker="abc"))

    # -- reading what the bot did --------------------------------------------------------

    def sent_to_chats(self) -> list[str]:
        return [c.params.get("chat_id", "") for c in self.calls if c.method == "sendMessage"]

    def sent(self, user_id: str) -> list[str]:
        return [
            c.params.get("text") or c.params.get("caption") or ""
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto") and c.params.get("chat_id") == user_id
        ]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

"""A lean fake Telegram Bot API server on 127.0.0.1 for ``bench/e2e.py``: thousands of users'
updates through ``getUpdates`` long polling, every ``sendMessage`` reported as it arrives.

``tests/fakes/telegram_api.py`` serves the tests: it keeps every call, wakes every waiter at
each call and answers its ``wait_for`` predicates by scanning the calls (1,000 users waiting
over 14,000 replies: quadratic), and it rebuilds its update list at each ``getUpdates``. This
one keeps only what a benchmark needs, answers from an ``asyncio.Protocol`` with a minimal
HTTP/1.1 parser (keep-alive, ``Content-Length`` bodies, url-encoded or JSON parameters: what
aiohttp and httpx send for these methods) so that it takes little of the two cores the bots
share with it, and its CPU is reported beside the bots'.

What it mirrors of the live Bot API (https://core.telegram.org/bots/api):

- ``getUpdates``: "Identifier of the first update to be returned"; "An update is considered
  confirmed as soon as getUpdates is called with an offset higher than its update_id";
  unconfirmed updates are returned again; ``limit`` 1–100, default 100; ``timeout`` is long
  polling: the call returns as soon as an update is there, or empty when it runs out
  (#getupdates).
- Every answer is ``{"ok": true, "result": …}``; a wrong token ``{"ok": false, "error_code":
  401, "description": "Unauthorized"}`` (#making-requests).
- ``sendMessage`` answers the sent ``Message`` (its ``message_id``, ``date``, ``chat``,
  ``from`` the bot, ``text``, the inline ``reply_markup`` when one was sent) (#sendmessage);
  ``editMessageText`` and ``editMessageReplyMarkup`` answer the edited ``Message``; ``getMe``
  the bot's ``User``; ``answerCallbackQuery``, ``deleteWebhook``, ``setMyCommands`` and any
  other method ``true``.
- A message update from a private chat: ``update_id``, ``message`` with ``message_id``,
  ``date``, ``chat`` (``type`` "private"), ``from`` (with ``language_code``) and ``text``
  (#update, #message).

Not mirrored: files, webhooks, rate limits (429), errors other than 401, network latency.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["BOT_ID", "TOKEN", "FakeBotApi"]

BOT_ID = 7000002
TOKEN = f"{BOT_ID}:BENCH-e2e-token"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "CDHT", "username": "cdht_bench_bot"}
_UNAUTHORIZED = b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
_TRUE = b'{"ok":true,"result":true}'


def _response(body: bytes, status: bytes = b"200 OK", close: bool = False) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + (b"\r\nConnection: close" if close else b"")
        + b"\r\n\r\n"
    )  # fmt: skip
    return head + body


class _Connection(asyncio.Protocol):
    """One client connection: requests in turn (the clients do not pipeline)."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiting = False  # a long poll is being answered: parse nothing more until then

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.api.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.api.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def _parse(self) -> None:
        while not self.waiting and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._send(_response(b'{"ok":false}', b"411 Length Required", True), True)
                return
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            close = headers.get("connection", "").lower() == "close"
            answer = self.api.handle(target, headers.get("content-type", ""), body)
            if isinstance(answer, bytes):
                self._send(_response(answer, close=close), close)
            else:  # a long poll
                self.waiting = True
                task = asyncio.ensure_future(answer)
                task.add_done_callback(lambda done, close=close: self._polled(done, close))

    def _polled(self, done: asyncio.Future[bytes], close: bool) -> None:
        self.waiting = False
        if done.cancelled():
            return
        self._send(_response(done.result(), close=close), close)
        self._parse()

    def _send(self, data: bytes, close: bool) -> None:
        if self.transport is not None:
            self.transport.write(data)
            if close:
                self.transport.close()


class FakeBotApi:
    """The server; ``push`` queues a user's text, ``on_message(chat_id, text)`` hears replies."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.url = ""
        self.calls: Counter[str] = Counter()
        self.on_message: Callable[[int, str], None] | None = None
        self.first_poll = asyncio.Event()  # a bot asked for updates: it is receiving
        self.connections: set[_Connection] = set()
        self._queue: deque[tuple[int, bytes]] = deque()  # (update_id, its JSON), unconfirmed
        self._pollers: set[asyncio.Future[None]] = set()
        self._next_update = 1
        self._next_message = 1
        self._server: asyncio.Server | None = None
        self._closing = False

    async def start(self) -> FakeBotApi:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await self._server.wait_closed()

    # -- acting as users -----------------------------------------------------------------

    def push(self, user_id: int, text: str) -> int:
        """Queue a text message from ``user_id``'s private chat; its ``update_id``."""
        update_id = self._next_update
        self._next_update += 1
        user = {"id": user_id, "is_bot": False, "first_name": "Dân", "language_code": "vi"}
        update = {
            "update_id": update_id,
            "message": {
                "message_id": self._message_id(),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": "Dân"},
                "from": user,
                "text": text,
            },
        }
        self._queue.append((update_id, json.dumps(update, ensure_ascii=False).encode()))
        self._wake()
        return update_id

    def _wake(self) -> None:
        for poller in self._pollers:
            if not poller.done():
                poller.set_result(None)
        self._pollers.clear()

    def _message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    # -- requests ------------------------------------------------------------------------

    def handle(self, target: str, content_type: str, body: bytes) -> Any:
        """The answer's body, or a coroutine that makes it (``getUpdates`` waiting)."""
        path, _, query = target.partition("?")
        parts = path.split("/")
        if len(parts) < 3 or parts[1] != f"bot{self.token}":
            return _UNAUTHORIZED
        method = parts[2]
        self.calls[method] += 1
        params: dict[str, Any]
        if content_type.startswith("application/json") and body:
            params = json.loads(body)
        else:
            params = dict(parse_qsl(body.decode() if body else query))
        if method == "getUpdates":
            return self._get_updates(params)
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            return self._message(method, params)
        if method == "getMe":
            return json.dumps({"ok": True, "result": BOT_USER}).encode()
        return _TRUE

    async def _get_updates(self, params: dict[str, Any]) -> bytes:
        self.first_poll.set()
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        while self._queue and self._queue[0][0] < offset:  # confirmed
            self._queue.popleft()
        if not self._queue and timeout > 0 and not self._closing:
            poller = asyncio.get_running_loop().create_future()
            self._pollers.add(poller)
            try:
                await asyncio.wait_for(poller, timeout)
            except TimeoutError:
                pass
            finally:
                self._pollers.discard(poller)
        batch = b",".join(raw for _, raw in islice(self._queue, limit))
        return b'{"ok":true,"result":[' + batch + b"]}"

    def _message(self, method: str, params: dict[str, Any]) -> bytes:
        chat_id = int(params.get("chat_id") or 0)
        text = str(params.get("text") or "")
        message: dict[str, Any] = {
            "message_id": int(params.get("message_id") or 0) or self._message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Dân"},
            "from": BOT_USER,
            "text": text or "…",
        }
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        body = json.dumps({"ok": True, "result": message}, ensure_ascii=False).encode()
        if method == "sendMessage" and self.on_message is not None:
            self.on_message(chat_id, text)
        return body

"""A fake Telegram Bot API server on 127.0.0.1 for the real client libraries (aiogram and
python-telegram-bot) to talk to.

It speaks the HTTP protocol (JSON, form-encoded and multipart requests; ``getUpdates`` long
polling) and records every call, so tests can act as users and read what the bot sent. Where it
mirrors a behaviour of the live service, the source is named beside it:

- getUpdates: "An update is considered confirmed as soon as getUpdates is called with an offset
  higher than its update_id"; unconfirmed updates are returned again
  (https://core.telegram.org/bots/api#getupdates).
- Errors are JSON ``{"ok": false, "error_code", "description", "parameters"}``; 429 carries
  ``parameters.retry_after`` and 403 "Forbidden: bot was blocked by the user"
  (https://core.telegram.org/bots/api#making-requests, #responseparameters).
- In front of the Bot API sits nginx, which answers an HTML page, not JSON, when the backend is
  down: "<html><head><title>502 Bad Gateway</title>…<center>nginx</center>" as reported by
  users of several clients (nickoala/telepot issue 31, python-telegram-bot issue 40).
- sendPhoto: "The photo must be at most 10 MB in size. The photo's width and height must not
  exceed 10000 in total. Width and height ratio must be at most 20"
  (https://core.telegram.org/bots/api#sendphoto); a photo outside them is refused with
  400 "Bad Request: PHOTO_INVALID_DIMENSIONS" (nickoala/telepot issue 135, tdlib/td issue
  2544, NousResearch/hermes-agent pull request 19630).
- my_chat_member: in a private chat the bot's status becomes "kicked" when the user blocks it
  and "member" when they unblock it (https://core.telegram.org/bots/api#chatmemberupdated).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-secret-token-value"

BLOCKED = "Forbidden: bot was blocked by the user"
_JSON_PARAMS = {"reply_markup", "allowed_updates", "commands", "entities", "scope"}
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@dataclass
class Fault:
    status: int
    body: str  # JSON text or an HTML page
    content_type: str = "application/json"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeTelegram:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 100
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    url: str = ""
    closing: bool = False
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content users sent
    failing_downloads: int = 0  # the next N file downloads answer 502
    uploads: list[bytes] = field(default_factory=list)  # files the bot sent
    # set: updates are POSTed through this (a webhook behind a proxy) instead of getUpdates
    deliver: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    refuse_429_once: set[int] = field(default_factory=set)  # chats answered 429 the first time
    blocked: set[int] = field(default_factory=set)  # chats whose user blocked the bot
    delivered: list[tuple[int, float]] = field(default_factory=list)  # (chat, when) accepted
    faults: dict[str, list[Fault]] = field(default_factory=dict)  # method -> next answers
    handed_out: list[int] = field(default_factory=list)  # update ids getUpdates returned
    download_pause: float = 0.0  # seconds between 64 KB chunks of a download
    downloads_started: int = 0

    # -- server --------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        # "Bots can currently send files of any type of up to 50 MB in size"
        # (https://core.telegram.org/bots/api#senddocument)
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        async with self._changed:  # release long polls still held open
            self.closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query)
        else:
            form = await request.post()
            raw = {k: v for k, v in form.items() if isinstance(v, str)}
            for value in form.values():
                if isinstance(value, web.FileField):  # an uploaded file
                    self.uploads.append(value.file.read())
        for key in _JSON_PARAMS & raw.keys():
            raw[key] = json.loads(raw[key])
        return raw

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        queued = self.faults.get(method)
        if queued:
            fault = queued.pop(0)
            self.calls.append(Call(f"{method}:failed", params))
            return web.Response(
                status=fault.status, text=fault.body, content_type=fault.content_type
            )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        if method != "getUpdates":
            async with self._changed:
                self.calls.append(Call(method, params))
                self._changed.notify_all()
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        async with self._changed:
            self.calls.append(Call("download", {"path": request.match_info["path"]}))
            self.downloads_started += 1
            self._changed.notify_all()
        if self.failing_downloads:
            self.failing_downloads -= 1
            return web.Response(status=502)
        file_id = request.match_info["path"].split("/")[-1]
        if file_id not in self.files:
            return web.Response(status=404)
        data = self.files[file_id]
        if not self.download_pause:
            return web.Response(body=data)
        response = web.StreamResponse(headers={"Content-Length": str(len(data))})
        await response.prepare(request)
        try:
            for start in range(0, len(data), 65536):
                await response.write(data[start : start + 65536])
                await asyncio.sleep(self.download_pause)
            await response.write_eof()
        except ConnectionError:  # the bot died mid-download (the crash tests kill it)
            pass
        return response

    # -- faults --------------------------------------------------------------------------

    def fail(self, method: str, times: int = 1, status: int = 502, html: bool = True) -> None:
        """The next ``times`` calls of ``method`` fail: nginx's HTML page, or a JSON error."""
        if html:
            fault = Fault(status, NGINX_502, "text/html")
        else:
            body = json.dumps({"ok": False, "error_code": status, "description": "Internal"})
            fault = Fault(status, body)
        self.faults.setdefault(method, []).extend([fault] * times)

    # -- methods -------------------------------------------------------------------------

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = params["file_id"]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                status=400,
            )
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "CDHT", "username": "cdht_test_bot"}

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self._bot_user()

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                if self.updates:
                    batch = self.updates[:100]
                    self.handed_out.extend(u["update_id"] for u in batch)
                    self._changed.notify_all()
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closing:
                    return []
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return []

    def _message(self, chat_id: int, text: str, markup: Any = None) -> dict[str, Any]:
        message = {
            "message_id": self.next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self._bot_user(),
            "text": text,
        }
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.messages[self.next_message_id] = message
        self.next_message_id += 1
        return message

    async def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        size = png_size(self.uploads[-1]) if self.uploads else None
        if size is not None:
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: PHOTO_INVALID_DIMENSIONS",
                    },
                    status=400,
                )
        message = self._message(int(params["chat_id"]), params.get("caption", ""))
        message["caption"] = message.pop("text")
        return message

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        message = self._message(int(params["chat_id"]), params.get("caption", ""))
        message["caption"] = message.pop("text")
        return message

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id in self.refuse_429_once:
            self.refuse_429_once.discard(chat_id)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        if chat_id in self.blocked:
            return web.json_response(
                {"ok": False, "error_code": 403, "description": BLOCKED},
                status=403,
            )
        self.delivered.append((chat_id, time.monotonic()))
        return self._message(chat_id, params["text"], params.get("reply_markup"))

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        message = self.messages[int(params["message_id"])]
        message["text"] = params["text"]
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self.messages[int(params["message_id"])]
        message.pop("reply_markup", None)
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    # -- acting as users -----------------------------------------------------------------

    def _user(self, user_id: int, language: str = "vi") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Dân", "language_code": language}

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (its ``update_id`` is set if missing) for ``getUpdates``."""
        if "update_id" not in update:
            update["update_id"] = self.next_update_id
            self.next_update_id += 1
        if self.deliver is not None:  # webhook mode: Telegram POSTs it (to a proxy, in tests)
            await self.deliver(update)
            return update
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    def message_update(self, user_id: int, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self.next_message_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._user(user_id),
            **content,
        }
        self.next_message_id += 1
        return {"message": message}

    async def send_text(self, user_id: int, text: str) -> dict[str, Any]:
        return await self.push(self.message_update(user_id, text=text))

    async def send_photo(self, user_id: int, file_id: str, data: bytes) -> dict[str, Any]:
        self.files[file_id] = data
        size = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "width": 800,
            "height": 600,
            "file_size": len(data),
        }
        thumb = {**size, "file_id": f"{file_id}-thumb", "width": 80, "height": 60}
        return await self.push(self.message_update(user_id, photo=[thumb, size]))

    async def send_document(
        self,
        user_id: int,
        file_id: str,
        data: bytes,
        mime: str,
        name: str,
        declared_size: int | None = None,
    ) -> dict[str, Any]:
        self.files[file_id] = data
        document = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": name,
            "mime_type": mime,
            "file_size": declared_size or len(data),
        }
        return await self.push(self.message_update(user_id, document=document))

    async def member_status(self, user_id: int, status: str) -> None:
        """The user blocks ("kicked") or unblocks ("member") the bot."""

        def member(state: str) -> dict[str, Any]:
            found: dict[str, Any] = {"user": self._bot_user(), "status": state}
            if state == "kicked":
                found["until_date"] = 0
            return found

        before = "member" if status == "kicked" else "kicked"
        change = {
            "chat": {"id": user_id, "type": "private", "first_name": "Dân"},
            "from": self._user(user_id),
            "date": int(time.time()),
            "old_chat_member": member(before),
            "new_chat_member": member(status),
        }
        await self.push({"my_chat_member": change})

    async def share_contact(self, user_id: int, phone: str, owner: int | None = None) -> None:
        contact = {"phone_number": phone, "first_name": "Dân", "user_id": owner or user_id}
        await self.push(self.message_update(user_id, contact=contact))

    async def press_data(self, user_id: int, message: dict[str, Any], data: str) -> None:
        await self.push(
            {
                "callback_query": {
                    "id": f"cb{self.next_update_id}",
                    "from": self._user(user_id),
                    "chat_instance": "1",
                    "message": message,
                    "data": data,
                }
            }
        )

    async def press(self, user_id: int, label: str, message: dict[str, Any] | None = None) -> None:
        """Press the button labelled ``label`` on ``message`` (default: the newest message that
        has such a button, as a person scrolls up to it; a digest that arrived meanwhile with
        buttons of its own does not hide it)."""
        candidates = [message] if message else list(reversed(self.sent_messages(user_id)))
        for candidate in candidates:
            for row in (candidate.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        await self.press_data(user_id, dict(candidate), button["callback_data"])
                        return
        last = message or self.last_with_buttons(user_id)
        labels = [b["text"] for row in last["reply_markup"]["inline_keyboard"] for b in row]
        raise AssertionError(f"no button {label!r} in {labels}")

    # -- reading what the bot did --------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.calls
            if c.method == "sendMessage"
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["chat"]["id"] == chat_id]

    def last_with_buttons(self, chat_id: int) -> dict[str, Any]:
        for message in reversed(self.sent_messages(chat_id)):
            if "reply_markup" in message:
                return dict(message)
        raise AssertionError("the bot sent no message with buttons")

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds; a safety net against hanging, not a speed check."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 10.0) -> list[str]:
        """Wait until the bot has sent ``count`` messages in total to ``chat_id``; their texts."""
        await self.wait_for(lambda: len(self.sent(chat_id)) >= count, timeout)
        return [params["text"] for params in self.sent(chat_id)]

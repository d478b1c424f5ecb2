"""Telegram: long polling or webhook, replies with inline keyboards, whatever the client library.

The channel speaks the Bot API's JSON and the neutral errors of ``api.TelegramApi``; the library
(aiogram or python-telegram-bot, ``CDHT_TELEGRAM_BACKEND``) is only the ``api`` it is given.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.engine import Engine, FileRef, FloodGuard, Reply, Result, Translate
from bot.engine.ports import InboxItem
from bot.handlers.polling import poll_until_stopped, until_done
from bot.handlers.receiving import Incoming, Receiver
from bot.handlers.telegram.api import TelegramApi
from bot.handlers.telegram.description import TELEGRAM
from bot.handlers.telegram.parse import CHANNEL, callback_query, parse_update
from bot.handlers.telegram.render import TEXT_LIMIT, markup_for
from bot.handlers.text_menu import split_text
from bot.handlers.web import WebServer
from bot.services.outbox import DeliveryError, OutgoingFile, Rejected

__all__ = ["TelegramChannel"]

log = logging.getLogger(__name__)

Update = dict[str, Any]  # the Bot API's JSON
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")  # HEIC goes as a document
# https://core.telegram.org/bots/api#sendphoto: "The photo must be at most 10 MB in size. The
# photo's width and height must not exceed 10000 in total. Width and height ratio must be at
# most 20." A larger photo goes as a document at once; one refused for its shape, after.
PHOTO_MAX_BYTES = 10 * 1024 * 1024


class TelegramChannel:
    name = CHANNEL
    buttons = TELEGRAM.buttons  # inline keyboards
    uploads = TELEGRAM.uploads  # a file's bytes go to Telegram: one made for this delivery can go

    def __init__(
        self,
        engine: Engine,
        translate: Translate,
        *,
        api: TelegramApi,
        web_server: WebServer | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: int = 25,
        max_concurrency: int = 16,
        flood: FloodGuard | None = None,
    ) -> None:
        self._engine = engine
        self._tr = translate
        self.api = api
        self.library = api.library
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self._poll_timeout = poll_timeout
        self._offset: int | None = None
        self.receiver: Receiver[Update] = Receiver(
            CHANNEL,
            engine,
            self._send_reply,
            max_concurrency=max_concurrency,
            flood=flood,
            before=self._answer_query,
            after=self._mark_pressed,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        if webhook_url:
            assert web_server is not None, "a webhook needs the web server"
            web_server.add("POST", urlsplit(webhook_url).path or "/", self._on_webhook)

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await until_done(
                CHANNEL, stop, "reading the inbox", lambda: self.receiver.replay(self._rebuild)
            )
            self._background(self._set_commands(stop))
            if self._webhook_url:
                await self._run_webhook(stop)
            else:
                await until_done(CHANNEL, stop, "deleteWebhook", self.api.delete_webhook)
                await self._run_polling(stop)
        finally:
            self.receiver.stopping.set()
            for task in self._tasks:
                task.cancel()
            await self.receiver.drain()
            await self.api.close()

    def _background(self, job: Awaitable[None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _set_commands(self, stop: asyncio.Event) -> None:
        """The command menus; the bot works without them, so a failure only delays them."""

        async def set_all() -> None:
            for locale in ("vi", "en", None):
                lang = locale or self._tr.resolve(None)
                commands = [
                    (name, self._engine.text(lang, description))
                    for name, description in self._engine.commands.items()
                ]
                await self.api.set_commands(commands, locale)

        await until_done(CHANNEL, stop, "setMyCommands", set_all)

    async def _run_polling(self, stop: asyncio.Event) -> None:
        async def fetch() -> list[Update]:
            return await self.api.get_updates(self._offset, self._poll_timeout)

        async def take(updates: Sequence[Update]) -> None:
            # "An update is considered confirmed as soon as getUpdates is called with an offset
            # higher than its update_id" (https://core.telegram.org/bots/api#getupdates): until
            # then Telegram delivers it again, so the batch is handled first and confirmed once
            # each update of it is committed (or stored in the inbox, when slow)
            await self.receiver.take_handled(self._incoming(updates))
            if updates:
                self._offset = int(updates[-1]["update_id"]) + 1

        await poll_until_stopped(CHANNEL, stop, fetch, take)

    def _incoming(self, updates: Sequence[Update]) -> list[Incoming[Update]]:
        found = []
        for update in updates:
            inbound = parse_update(update)
            if inbound is not None:
                found.append(Incoming(update, inbound, update))
        return found

    def _rebuild(self, item: InboxItem) -> Incoming[Update] | None:
        inbound = parse_update(item.payload)
        return Incoming(item.payload, inbound, item.payload) if inbound is not None else None

    async def _run_webhook(self, stop: asyncio.Event) -> None:
        assert self._webhook_url is not None
        await until_done(
            CHANNEL,
            stop,
            "setWebhook",
            lambda: self.api.set_webhook(self._webhook_url or "", self._webhook_secret),
        )
        log.info("telegram: webhook set")
        await stop.wait()

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_HEADER, "")
        assert self._webhook_secret is not None
        if not hmac.compare_digest(secret.encode(), self._webhook_secret.encode()):
            return web.Response(status=401)
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400)
        inbound = parse_update(payload)
        if inbound is None:
            return web.Response(status=200)
        try:
            await self.receiver.take([Incoming(payload, inbound, payload)])
        except Exception as exc:
            # not stored: Telegram delivers it again later (https://core.telegram.org/bots/api
            # #setwebhook: "In case of an unsuccessful request, we will give up after a
            # reasonable amount of attempts.")
            log.warning("telegram: webhook update not stored (%s)", type(exc).__name__)
            return web.Response(status=503)
        return web.Response(status=200)

    # -- sending -------------------------------------------------------------------------

    async def _send_reply(self, chat: str, reply: Reply) -> None:
        await self.deliver(chat, reply, None)

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        """Send one message; the api raises the sender's neutral errors."""
        chat_id = int(external_id)
        if file is not None:
            await self._send_file(chat_id, file)
        elif reply is not None:
            pieces = split_text(reply.text, TEXT_LIMIT)
            for index, piece in enumerate(pieces):
                markup = markup_for(reply) if index == len(pieces) - 1 else None
                await self.api.send_message(chat_id, piece, markup)

    async def _send_file(self, chat_id: int, file: OutgoingFile) -> None:
        data = await asyncio.to_thread(file.path.read_bytes)
        caption = file.caption[:1024]
        as_photo = file.kind == "photo" and file.mime_type in PHOTO_TYPES
        if as_photo and len(data) <= PHOTO_MAX_BYTES:
            try:
                await self.api.send_photo(chat_id, data, file.name, caption)
                return
            except Rejected as exc:
                # e.g. "Bad Request: PHOTO_INVALID_DIMENSIONS" for a long screenshot
                log.info("telegram: photo refused (%s); sending it as a document", exc)
        await self.api.send_document(chat_id, data, file.name, caption)

    async def fetch_file(self, file: FileRef, max_bytes: int) -> bytes:
        """Download a file the user sent, stopping as soon as it passes ``max_bytes``."""
        return await self.api.download(file.file_id, max_bytes)

    # -- one update ----------------------------------------------------------------------

    async def drain(self) -> None:
        await self.receiver.drain()

    async def _answer_query(self, incoming: Incoming[Update]) -> None:
        query = callback_query(incoming.update) if incoming.update is not None else None
        if query is not None and isinstance(query.get("id"), str):
            await self.api.answer_callback(query["id"])

    async def _mark_pressed(self, incoming: Incoming[Update], result: Result) -> None:
        """Take the keyboard off the message whose button was pressed, noting the answer."""
        query = callback_query(incoming.update) if incoming.update is not None else None
        message = query.get("message") if query is not None else None
        if not isinstance(message, dict):
            return
        chat_id = (message.get("chat") or {}).get("id")
        message_id = message.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        text: Any = message.get("text")
        try:
            if result.pressed_label and isinstance(text, str) and text:
                marked = f"{text}\n\n✓ {result.pressed_label}"[:TEXT_LIMIT]
                await self.api.edit_text(chat_id, message_id, marked)
            elif result.pressed_label or result.stale:
                await self.api.remove_keyboard(chat_id, message_id)
        except DeliveryError:  # an old message that can no longer be edited
            pass

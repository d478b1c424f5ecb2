"""Telegram through aiogram 3: long polling or webhook, replies with inline keyboards."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import BotCommand, BufferedInputFile, Update
from aiohttp import web

from bot.engine import Engine, FileRef, FloodGuard, Reply, Result, Translate
from bot.engine.ports import InboxItem
from bot.handlers.polling import poll_until_stopped, until_done
from bot.handlers.receiving import Incoming, Receiver
from bot.handlers.telegram.parse import CHANNEL, parse_update
from bot.handlers.telegram.render import TEXT_LIMIT, markup_for
from bot.handlers.text_menu import split_text
from bot.handlers.web import WebServer
from bot.services.evidence import FetchFailed, TooLarge
from bot.services.outbox import OutgoingFile, RateLimited, Rejected, Transient, Unreachable

__all__ = ["TelegramChannel"]

log = logging.getLogger(__name__)

# my_chat_member tells when a user blocks (status "kicked") or unblocks ("member") the bot.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")  # HEIC goes as a document
# https://core.telegram.org/bots/api#sendphoto: "The photo must be at most 10 MB in size. The
# photo's width and height must not exceed 10000 in total. Width and height ratio must be at
# most 20." A larger photo goes as a document at once; one refused for its shape, after.
PHOTO_MAX_BYTES = 10 * 1024 * 1024


class TelegramChannel:
    name = CHANNEL
    buttons = True

    def __init__(
        self,
        engine: Engine,
        translate: Translate,
        *,
        token: str,
        api_url: str,
        web_server: WebServer | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: int = 25,
        max_concurrency: int = 16,
        flood: FloodGuard | None = None,
    ) -> None:
        self._engine = engine
        self._tr = translate
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
        self.bot = Bot(token=token, session=session)
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
                await until_done(
                    CHANNEL,
                    stop,
                    "deleteWebhook",
                    lambda: self.bot.delete_webhook(drop_pending_updates=False),
                )
                await self._run_polling(stop)
        finally:
            self.receiver.stopping.set()
            for task in self._tasks:
                task.cancel()
            await self.receiver.drain()
            await self.bot.session.close()

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
                    BotCommand(command=name, description=self._engine.text(lang, description))
                    for name, description in self._engine.commands.items()
                ]
                await self.bot.set_my_commands(commands, language_code=locale)

        await until_done(CHANNEL, stop, "setMyCommands", set_all)

    async def _run_polling(self, stop: asyncio.Event) -> None:
        async def fetch() -> list[Update]:
            try:
                return await self.bot.get_updates(
                    offset=self._offset,
                    timeout=self._poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    request_timeout=self._poll_timeout + 10,
                )
            except TelegramRetryAfter as exc:
                raise RateLimited(exc.retry_after) from None

        async def take(updates: Sequence[Update]) -> None:
            await self.receiver.take(self._incoming(updates))
            if updates:  # acknowledged by the next getUpdates, now that they are stored
                self._offset = updates[-1].update_id + 1

        await poll_until_stopped(CHANNEL, stop, fetch, take)

    def _incoming(self, updates: Sequence[Update]) -> list[Incoming[Update]]:
        found = []
        for update in updates:
            inbound = parse_update(update)
            if inbound is not None:
                payload = update.model_dump(mode="json", by_alias=True, exclude_none=True)
                found.append(Incoming(update, inbound, payload))
        return found

    def _rebuild(self, item: InboxItem) -> Incoming[Update] | None:
        try:
            update = Update.model_validate(item.payload, context={"bot": self.bot})
        except ValueError:
            return None
        inbound = parse_update(update)
        return Incoming(update, inbound, item.payload) if inbound is not None else None

    async def _run_webhook(self, stop: asyncio.Event) -> None:
        assert self._webhook_url is not None
        await until_done(
            CHANNEL,
            stop,
            "setWebhook",
            lambda: self.bot.set_webhook(
                self._webhook_url or "",
                secret_token=self._webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            ),
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
            update = Update.model_validate(payload, context={"bot": self.bot})
        except ValueError:
            return web.Response(status=400)
        inbound = parse_update(update)
        if inbound is None:
            return web.Response(status=200)
        try:
            await self.receiver.take([Incoming(update, inbound, payload)])
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
        """Send one message; Telegram's errors become the sender's neutral ones."""
        chat_id = int(external_id)
        try:
            if file is not None:
                await self._send_file(chat_id, file)
            elif reply is not None:
                pieces = split_text(reply.text, TEXT_LIMIT)
                for index, piece in enumerate(pieces):
                    markup = markup_for(reply) if index == len(pieces) - 1 else None
                    await self.bot.send_message(chat_id, piece, reply_markup=markup)
        except TelegramRetryAfter as exc:
            raise RateLimited(exc.retry_after) from None
        except TelegramForbiddenError as exc:
            raise Unreachable(exc.message) from None
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise Unreachable(exc.message) from None
            raise Rejected(exc.message) from None
        except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
            # a server error, a network error, or an HTML page where JSON was expected
            # (ClientDecodeError): worth another try
            raise Transient(type(exc).__name__) from None

    async def _send_file(self, chat_id: int, file: OutgoingFile) -> None:
        data = await asyncio.to_thread(file.path.read_bytes)
        caption = file.caption[:1024]
        as_photo = file.kind == "photo" and file.mime_type in PHOTO_TYPES
        if as_photo and len(data) <= PHOTO_MAX_BYTES:
            try:
                photo = BufferedInputFile(data, filename=file.name)
                await self.bot.send_photo(chat_id, photo, caption=caption)
                return
            except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
                # e.g. "Bad Request: PHOTO_INVALID_DIMENSIONS" for a long screenshot
                log.info("telegram: photo refused (%s); sending it as a document", exc.message)
        document = BufferedInputFile(data, filename=file.name)
        await self.bot.send_document(chat_id, document, caption=caption)

    async def fetch_file(self, file: FileRef, max_bytes: int) -> bytes:
        """Download a file the user sent, stopping as soon as it passes ``max_bytes``."""
        try:
            remote = await self.bot.get_file(file.file_id)
            if remote.file_size is not None and remote.file_size > max_bytes:
                raise TooLarge(f"{remote.file_size} bytes")
            if not remote.file_path:
                raise FetchFailed("no file path")
            url = self.bot.session.api.file_url(self.bot.token, remote.file_path)
            data = bytearray()
            async for chunk in self.bot.session.stream_content(
                url, timeout=120, chunk_size=65536, raise_for_status=True
            ):
                data += chunk
                if len(data) > max_bytes:
                    raise TooLarge(f"over {max_bytes} bytes")
            return bytes(data)
        except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None

    # -- one update ----------------------------------------------------------------------

    async def drain(self) -> None:
        await self.receiver.drain()

    async def _answer_query(self, incoming: Incoming[Update]) -> None:
        query = incoming.update.callback_query if incoming.update is not None else None
        if query is not None:
            await self.bot.answer_callback_query(query.id)

    async def _mark_pressed(self, incoming: Incoming[Update], result: Result) -> None:
        """Take the keyboard off the message whose button was pressed, noting the answer."""
        query = incoming.update.callback_query if incoming.update is not None else None
        if query is None or query.message is None:
            return
        chat_id, message_id = query.message.chat.id, query.message.message_id
        text: Any = getattr(query.message, "text", None)
        with contextlib.suppress(TelegramAPIError):
            if result.pressed_label and text:
                marked = f"{text}\n\n✓ {result.pressed_label}"[:TEXT_LIMIT]
                await self.bot.edit_message_text(
                    text=marked, chat_id=chat_id, message_id=message_id
                )
            elif result.pressed_label or result.stale:
                await self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)

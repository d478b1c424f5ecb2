"""Telegram through aiogram 3: long polling or webhook, replies with inline keyboards."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from urllib.parse import urlsplit

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BotCommand, BufferedInputFile, Update
from aiohttp import web

from bot.engine import Engine, FileRef, Inbound, KeyedSerializer, Reply, Result, Translate
from bot.handlers.polling import poll_until_stopped
from bot.handlers.telegram.parse import CHANNEL, parse_update
from bot.handlers.telegram.render import TEXT_LIMIT, markup_for
from bot.handlers.text_menu import split_text
from bot.handlers.web import WebServer
from bot.services.evidence import FetchFailed, TooLarge
from bot.services.outbox import OutgoingFile, RateLimited, Rejected, Transient, Unreachable

__all__ = ["TelegramChannel"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
SEND_ATTEMPTS = 3
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")  # HEIC goes as a document


class TelegramChannel:
    name = CHANNEL

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
    ) -> None:
        self._engine = engine
        self._tr = translate
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
        self.bot = Bot(token=token, session=session)
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self._poll_timeout = poll_timeout
        self._serializer = KeyedSerializer(max_concurrency)
        if webhook_url:
            assert web_server is not None, "a webhook needs the web server"
            web_server.add("POST", urlsplit(webhook_url).path or "/", self._on_webhook)

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._set_commands()
            if self._webhook_url:
                await self._run_webhook(stop)
            else:
                await self.bot.delete_webhook(drop_pending_updates=False)
                await self._run_polling(stop)
        finally:
            await self._serializer.join()
            await self.bot.session.close()

    async def _set_commands(self) -> None:
        for locale in ("vi", "en", None):
            lang = locale or self._tr.resolve(None)
            commands = [
                BotCommand(command=name, description=self._engine.text(lang, description))
                for name, description in self._engine.commands.items()
            ]
            await self.bot.set_my_commands(commands, language_code=locale)

    async def _run_polling(self, stop: asyncio.Event) -> None:
        offset: int | None = None

        async def fetch() -> list[Update]:
            nonlocal offset
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=self._poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    request_timeout=self._poll_timeout + 10,
                )
            except TelegramRetryAfter as exc:
                raise RateLimited(exc.retry_after) from None
            except TelegramAPIError as exc:
                raise Transient(type(exc).__name__) from None
            if updates:
                offset = updates[-1].update_id + 1
            return updates

        await poll_until_stopped(CHANNEL, stop, fetch, self.feed)

    async def _run_webhook(self, stop: asyncio.Event) -> None:
        assert self._webhook_url is not None
        await self.bot.set_webhook(
            self._webhook_url, secret_token=self._webhook_secret, allowed_updates=ALLOWED_UPDATES
        )
        log.info("telegram: webhook set")
        await stop.wait()

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_HEADER, "")
        assert self._webhook_secret is not None
        if not hmac.compare_digest(secret.encode(), self._webhook_secret.encode()):
            return web.Response(status=401)
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except ValueError:
            return web.Response(status=400)
        self.feed(update)
        return web.Response(status=200)

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        """Send one outbox message; Telegram's errors become the sender's neutral ones."""
        chat_id = int(external_id)
        try:
            if file is not None:
                data = await asyncio.to_thread(file.path.read_bytes)
                upload = BufferedInputFile(data, filename=file.name)
                caption = file.caption[:1024]
                if file.kind == "photo" and file.mime_type in PHOTO_TYPES:
                    await self.bot.send_photo(chat_id, upload, caption=caption)
                else:
                    await self.bot.send_document(chat_id, upload, caption=caption)
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
        except TelegramAPIError as exc:
            raise Transient(type(exc).__name__) from None

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
        except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None

    # -- one update ----------------------------------------------------------------------

    def feed(self, update: Update) -> None:
        """Queue an update behind the same user's earlier ones; returns at once."""
        inbound = parse_update(update)
        if inbound is None:
            return
        self._serializer.submit(inbound.user_id, lambda: self._process(update, inbound))

    async def drain(self) -> None:
        await self._serializer.join()

    async def _process(self, update: Update, inbound: Inbound) -> None:
        query = update.callback_query
        if query is not None:
            await self._quietly(lambda: self.bot.answer_callback_query(query.id))
        result = await self._engine.handle(inbound)
        if result.duplicate:
            return
        if query is not None and query.message is not None:
            await self._mark_pressed(
                query.message.chat.id,
                query.message.message_id,
                getattr(query.message, "text", None),
                result,
            )
        chat_id = int(inbound.user_id)
        for reply in result.replies:
            pieces = split_text(reply.text, TEXT_LIMIT)
            for index, piece in enumerate(pieces):
                markup = markup_for(reply) if index == len(pieces) - 1 else None
                await self._quietly(
                    partial(self.bot.send_message, chat_id, piece, reply_markup=markup)
                )

    async def _mark_pressed(
        self, chat_id: int, message_id: int, text: str | None, result: Result
    ) -> None:
        """Take the keyboard off the message whose button was pressed, noting the answer."""
        if result.pressed_label and text:
            marked = f"{text}\n\n✓ {result.pressed_label}"[:TEXT_LIMIT]
            await self._quietly(
                lambda: self.bot.edit_message_text(
                    text=marked, chat_id=chat_id, message_id=message_id
                )
            )
        elif result.pressed_label or result.stale:
            await self._quietly(
                lambda: self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
            )

    async def _quietly(self, call: Callable[[], Awaitable[object]]) -> None:
        """Send, retrying after a flood wait or a network error; log no message content."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await call()
                return
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
            except TelegramNetworkError:
                await asyncio.sleep(0.5 * attempt)
            except TelegramForbiddenError:
                log.info("telegram: user unreachable (blocked the bot)")
                return
            except TelegramBadRequest as exc:
                log.warning("telegram: bad request: %s", exc.message)
                return
            except TelegramAPIError as exc:
                log.warning("telegram: call failed: %s", type(exc).__name__)
                return
        log.warning("telegram: gave up after %d attempts", SEND_ATTEMPTS)

"""The Telegram client through python-telegram-bot 22 (``CDHT_TELEGRAM_BACKEND=ptb``).

Only ``telegram.Bot`` is used, with its ``base_url`` and ``base_file_url`` pointed at the
configured server, never ``Application.run_polling``: the lifecycle (polling, acknowledgement
after storing, per-user order) stays the channel's, the same as with aiogram.

Its HTTP goes over aiohttp (``ptb_aiohttp.AiohttpRequest``), not the library's default httpx:
one request object for the Bot API's methods, one for getUpdates (as ``telegram.Bot`` takes
them), one for the files users send. httpx stays installed and imported because
python-telegram-bot imports it (``telegram.request.HTTPXRequest``), but sends nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

# python-telegram-bot 22.2 moved time periods to datetime.timedelta and warns on every read of
# an int one unless this is set (https://docs.python-telegram-bot.org/en/stable/
# telegram.error.html#telegram.error.RetryAfter); we read timedeltas.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, BotCommand
from telegram.error import (
    BadRequest,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.request import BaseRequest

from bot.handlers.telegram.api import ALLOWED_UPDATES
from bot.handlers.telegram.ptb_aiohttp import AiohttpRequest
from bot.services.evidence import FetchFailed, TooLarge, read_limited
from bot.services.outbox import RateLimited, Rejected, Transient, Unreachable

__all__ = ["CONNECTIONS", "PtbApi"]

T = TypeVar("T")

# Connections to the Bot API at once, with the settings' defaults: each update being handled
# makes one call at a time (CDHT_MAX_CONCURRENT_UPDATES, 16), the outbox has its sends in
# flight (CDHT_SENDER_CONCURRENCY, 8), and the command menus are set in the background (1); one
# spare. Polling has a connection of its own, downloads a pool of their own.
CONNECTIONS = 16 + 8 + 2


@asynccontextmanager
async def _neutral() -> AsyncIterator[None]:
    """python-telegram-bot's errors as the outbox's neutral ones (see ``api.py``)."""
    try:
        yield
    except RetryAfter as exc:
        seconds = exc.retry_after
        raise RateLimited(
            seconds.total_seconds() if not isinstance(seconds, int | float) else float(seconds)
        ) from None
    except Forbidden as exc:
        raise Unreachable(exc.message) from None
    except BadRequest as exc:  # a subclass of NetworkError: before it
        if "chat not found" in exc.message.lower():
            raise Unreachable(exc.message) from None
        raise Rejected(exc.message) from None
    except (TelegramError, TimeoutError) as exc:
        # NetworkError, TimedOut, a 5xx, or an HTML page where JSON was expected
        raise Transient(type(exc).__name__) from None


class PtbApi:
    library = "ptb"

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        poll_timeout: int = 25,
        connections: int = CONNECTIONS,
        request: BaseRequest | None = None,
    ) -> None:
        """``connections``: the most calls to the Bot API at once (``CONNECTIONS`` says how to
        count them); more wait for a free connection, up to the pool and connect timeouts
        (1 + 5 s, then ``TimedOut``). ``request``: python-telegram-bot's HTTP layer, replaced
        by the benchmark's in-process server (used for polling too)."""
        base = api_url.rstrip("/")
        self._requests: BaseRequest = request or AiohttpRequest(
            connection_pool_size=connections, read_timeout=30.0
        )
        self._polling: BaseRequest = request or AiohttpRequest(
            connection_pool_size=1, read_timeout=poll_timeout + 10.0
        )
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._requests,
            get_updates_request=self._polling,
        )
        # a download reads for up to 120 s between two chunks (as the httpx client did)
        self._downloads = AiohttpRequest(
            connections, read_timeout=120.0, connect_timeout=10.0, pool_timeout=120.0
        )

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        async with _neutral():
            return await request()

    async def get_updates(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        """The updates as the Bot API's JSON. ``Bot.get_updates`` would build ``Update`` objects
        that the channel turns back into JSON at once (289 µs an update, measured); ``_post`` is
        the call it makes underneath, on the same polling request (python-telegram-bot 22)."""
        data = {
            "offset": offset,
            "timeout": poll_seconds,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        found = await self._call(
            lambda: self.bot._post("getUpdates", data, read_timeout=poll_seconds + 10)
        )
        return [update for update in found or () if isinstance(update, dict)]

    async def _post(self, method: str, data: dict[str, Any]) -> None:
        """A call whose answer (a ``Message`` or ``True``) the channel does not read.
        ``Bot.send_message`` and the like build a ``Message`` from it (``Message.de_json``: 18% of
        the benchmark's CPU under cProfile); ``_post`` is the call they make underneath, with the
        same errors (python-telegram-bot 22, ``telegram/_bot.py``). Values that are dicts go to
        the Bot API as JSON (``RequestParameter.from_input``)."""
        await self._call(lambda: self.bot._post(method, data))

    async def send_message(self, chat_id: int, text: str, markup: dict[str, Any] | None) -> None:
        data: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if markup is not None:
            data["reply_markup"] = markup
        await self._post("sendMessage", data)

    async def send_photo(self, chat_id: int, data: bytes, filename: str, caption: str) -> None:
        await self._call(
            lambda: self.bot.send_photo(chat_id, data, filename=filename, caption=caption)
        )

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> None:
        await self._call(
            lambda: self.bot.send_document(chat_id, data, filename=filename, caption=caption)
        )

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        await self._post(
            "editMessageText", {"chat_id": chat_id, "message_id": message_id, "text": text}
        )

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        await self._post("editMessageReplyMarkup", {"chat_id": chat_id, "message_id": message_id})

    async def answer_callback(self, query_id: str) -> None:
        await self._post("answerCallbackQuery", {"callback_query_id": query_id})

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        menu = [BotCommand(name, text) for name, text in commands]
        await self._call(lambda: self.bot.set_my_commands(menu, language_code=language_code))

    async def delete_webhook(self) -> None:
        await self._call(lambda: self.bot.delete_webhook(drop_pending_updates=False))

    async def set_webhook(self, url: str, secret: str | None) -> None:
        await self._call(
            lambda: self.bot.set_webhook(
                url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        )

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        try:
            remote = await self.bot.get_file(file_id)
            if remote.file_size is not None and remote.file_size > max_bytes:
                raise TooLarge(f"{remote.file_size} bytes")
            if not remote.file_path:  # the whole download URL (base_file_url + path)
                raise FetchFailed("no file path")
            async with self._downloads.stream(remote.file_path) as chunks:
                return await read_limited(chunks, max_bytes)
        except (TelegramError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None

    async def close(self) -> None:
        await self._requests.shutdown()
        if self._polling is not self._requests:
            await self._polling.shutdown()
        await self._downloads.shutdown()

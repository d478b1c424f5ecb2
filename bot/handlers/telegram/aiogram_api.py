"""The Telegram client through aiogram 3 (``CDHT_TELEGRAM_BACKEND=aiogram``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetUpdates,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
)
from aiogram.methods.base import Response
from aiogram.types import BotCommand, BufferedInputFile

from bot.handlers.telegram.api import ALLOWED_UPDATES
from bot.services.evidence import FetchFailed, TooLarge, read_limited
from bot.services.outbox import RateLimited, Rejected, Transient, Unreachable

__all__ = ["AiogramApi"]

T = TypeVar("T")


class _JsonUpdates(GetUpdates):
    """getUpdates, its answer kept as the Bot API's JSON: the channel wants JSON, and building
    ``Update`` models only to dump them again cost 94 µs an update (measured)."""

    __returning__ = list[dict[str, Any]]


# aiogram reads every answer as Response[<the method's result type>]. pydantic keeps such
# parametrised models in a WeakValueDictionary (pydantic/_internal/_generics.py), so once the
# garbage collector has dropped one, the next call builds the class again: about 7 ms each,
# 197 times in 360 updates of bench/updates.py (cProfile: create_generic_submodel). Holding
# them here makes each a one-time cost.
_RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        _JsonUpdates, SendMessage, SendPhoto, SendDocument, EditMessageText,
        EditMessageReplyMarkup, AnswerCallbackQuery, GetFile, SetMyCommands, DeleteWebhook,
        SetWebhook,
    )
)  # fmt: skip


@asynccontextmanager
async def _neutral() -> AsyncIterator[None]:
    """aiogram's errors as the outbox's neutral ones (see ``api.py``)."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RateLimited(exc.retry_after) from None
    except TelegramForbiddenError as exc:
        raise Unreachable(exc.message) from None
    except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
        if "chat not found" in exc.message.lower():
            raise Unreachable(exc.message) from None
        raise Rejected(exc.message) from None
    except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
        # a server error, a network error, or an HTML page where JSON was expected
        # (ClientDecodeError): worth another try
        raise Transient(type(exc).__name__) from None


class AiogramApi:
    library = "aiogram"

    def __init__(self, token: str, api_url: str, session: BaseSession | None = None) -> None:
        """``session``: aiogram's HTTP layer, replaced by the benchmark's in-process server."""
        session = session or AiohttpSession(api=TelegramAPIServer.from_base(api_url))
        self.bot = Bot(token=token, session=session)

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        async with _neutral():
            return await request()

    async def get_updates(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        method = _JsonUpdates(
            offset=offset, timeout=poll_seconds, allowed_updates=list(ALLOWED_UPDATES)
        )
        found: Any = await self._call(lambda: self.bot(method, request_timeout=poll_seconds + 10))
        return list(found)

    async def send_message(self, chat_id: int, text: str, markup: dict[str, Any] | None) -> None:
        await self._call(lambda: self.bot.send_message(chat_id, text, reply_markup=markup))  # type: ignore[arg-type]

    async def send_photo(self, chat_id: int, data: bytes, filename: str, caption: str) -> None:
        photo = BufferedInputFile(data, filename=filename)
        await self._call(lambda: self.bot.send_photo(chat_id, photo, caption=caption))

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> None:
        document = BufferedInputFile(data, filename=filename)
        await self._call(lambda: self.bot.send_document(chat_id, document, caption=caption))

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        await self._call(
            lambda: self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)
        )

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        await self._call(
            lambda: self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
        )

    async def answer_callback(self, query_id: str) -> None:
        await self._call(lambda: self.bot.answer_callback_query(query_id))

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        menu = [BotCommand(command=name, description=text) for name, text in commands]
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
            if not remote.file_path:
                raise FetchFailed("no file path")
            url = self.bot.session.api.file_url(self.bot.token, remote.file_path)
            chunks = self.bot.session.stream_content(
                url, timeout=120, chunk_size=65536, raise_for_status=True
            )
            return await read_limited(chunks, max_bytes)
        except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None

    async def close(self) -> None:
        await self.bot.session.close()

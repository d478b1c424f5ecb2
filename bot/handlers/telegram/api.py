"""What the Telegram channel needs from a client library, in the Bot API's own terms.

Two implementations: ``aiogram_api`` (aiogram 3) and ``ptb_api`` (python-telegram-bot 22),
chosen by ``CDHT_TELEGRAM_BACKEND``. Updates come back as the Bot API's JSON; keyboards go as
it (``render.markup_for``). Every failure is one of the outbox's neutral errors, so the channel,
its tests and the sender never see a library's exception:

- ``RateLimited(seconds)``: 429 with ``retry_after``;
- ``Unreachable``: 403 (the user blocked the bot) and 400 "chat not found";
- ``Rejected``: any other 400 (and 413): sending it again will not help;
- ``Transient``: network errors, timeouts, 5xx, an HTML page where JSON was expected.

Downloads raise ``TooLarge`` past the limit (checked while streaming) and ``FetchFailed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["ALLOWED_UPDATES", "TelegramApi"]

# my_chat_member tells when a user blocks (status "kicked") or unblocks ("member") the bot.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


class TelegramApi(Protocol):
    library: str  # "aiogram" or "ptb", for logs and benchmarks

    async def get_updates(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        """Long polling: updates as JSON (``ALLOWED_UPDATES`` only), oldest first."""

    async def send_message(
        self, chat_id: int, text: str, markup: dict[str, Any] | None
    ) -> None: ...

    async def send_photo(self, chat_id: int, data: bytes, filename: str, caption: str) -> None: ...

    async def send_document(
        self, chat_id: int, data: bytes, filename: str, caption: str
    ) -> None: ...

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        """Replace a message's text, taking its keyboard off."""

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None: ...

    async def answer_callback(self, query_id: str) -> None: ...

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None: ...

    async def delete_webhook(self) -> None: ...

    async def set_webhook(self, url: str, secret: str | None) -> None: ...

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        """The file a user sent, stopping as soon as it passes ``max_bytes``."""

    async def close(self) -> None: ...

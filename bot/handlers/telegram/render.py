"""The engine's replies as Telegram keyboards, in the Bot API's JSON (both client libraries send
a ``reply_markup`` given as this JSON unchanged; https://core.telegram.org/bots/api#sendmessage).
"""

from __future__ import annotations

from typing import Any

from bot.engine import Reply
from bot.handlers.telegram.description import TEXT_LIMIT
from bot.handlers.telegram.parse import pack_callback

__all__ = ["TEXT_LIMIT", "markup_for"]


def _per_row(label: str) -> int:
    """How many buttons of this label's length fit a row on a small phone."""
    if len(label) <= 3:
        return 6  # score keys 0..10
    if len(label) <= 18:
        return 2
    return 1


def markup_for(reply: Reply) -> dict[str, Any]:
    if reply.choices:
        rows: list[list[dict[str, str]]] = []
        for choice in reply.choices:
            button = {"text": choice.label, "callback_data": pack_callback(reply.token, choice.id)}
            width = _per_row(choice.label)
            last = rows[-1] if rows else None
            if last and len(last) < width and all(_per_row(b["text"]) == width for b in last):
                last.append(button)
            else:
                rows.append([button])
        return {"inline_keyboard": rows}
    if reply.phone_button:
        return {
            "keyboard": [[{"text": reply.phone_button, "request_contact": True}]],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }
    return {"remove_keyboard": True}

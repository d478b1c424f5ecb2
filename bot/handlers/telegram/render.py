"""The engine's replies as Telegram keyboards."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.engine import Reply
from bot.handlers.telegram.parse import pack_callback

__all__ = ["TEXT_LIMIT", "Markup", "markup_for"]

TEXT_LIMIT = 4096


def _per_row(label: str) -> int:
    """How many buttons of this label's length fit a row on a small phone."""
    if len(label) <= 3:
        return 6  # score keys 0..10
    if len(label) <= 18:
        return 2
    return 1


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def markup_for(reply: Reply) -> Markup:
    if reply.choices:
        rows: list[list[InlineKeyboardButton]] = []
        for choice in reply.choices:
            button = InlineKeyboardButton(
                text=choice.label, callback_data=pack_callback(reply.token, choice.id)
            )
            width = _per_row(choice.label)
            last = rows[-1] if rows else None
            if last and len(last) < width and all(_per_row(b.text) == width for b in last):
                last.append(button)
            else:
                rows.append([button])
        return InlineKeyboardMarkup(inline_keyboard=rows)
    if reply.phone_button:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=reply.phone_button, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return ReplyKeyboardRemove()

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
SHORT_LABEL = 18  # two short buttons share a row; long ones get a row each

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def markup_for(reply: Reply) -> Markup:
    if reply.choices:
        rows: list[list[InlineKeyboardButton]] = []
        for choice in reply.choices:
            button = InlineKeyboardButton(
                text=choice.label, callback_data=pack_callback(reply.token, choice.id)
            )
            last = rows[-1] if rows else None
            if (
                last is not None
                and len(last) == 1
                and len(choice.label) <= SHORT_LABEL
                and len(last[0].text) <= SHORT_LABEL
            ):
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

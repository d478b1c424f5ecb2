"""Telegram: the only place that imports aiogram."""

from bot.handlers.telegram.channel import TelegramChannel
from bot.handlers.telegram.parse import CHANNEL, pack_callback, parse_update, unpack_callback

__all__ = ["CHANNEL", "TelegramChannel", "pack_callback", "parse_update", "unpack_callback"]

"""Zalo: the only place that speaks the Zalo Bot Platform's API."""

from bot.handlers.zalo.channel import TEXT_LIMIT, ZaloChannel, split_reply
from bot.handlers.zalo.client import OFFICIAL_ZALO_API, ZaloClient
from bot.handlers.zalo.parse import CHANNEL, parse_update, unwrap

__all__ = [
    "CHANNEL",
    "OFFICIAL_ZALO_API",
    "TEXT_LIMIT",
    "ZaloChannel",
    "ZaloClient",
    "parse_update",
    "split_reply",
    "unwrap",
]

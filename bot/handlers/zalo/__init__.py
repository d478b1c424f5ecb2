"""Zalo: the only place that speaks the Zalo Bot Platform's API; described in
``description.py``.

The package imports nothing itself: the configuration reads the channel's description at
start; the names below are imported when first used."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "TEXT_LIMIT": "channel",
    "ZaloChannel": "channel",
    "split_reply": "channel",
    "OFFICIAL_ZALO_API": "client",
    "ZaloClient": "client",
    "CHANNEL": "parse",
    "parse_update": "parse",
    "unwrap": "parse",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)

"""The console: a chat in the terminal through the same engine and database; choices as
numbered menus (``channel.py``), described in ``description.py``.

The package imports nothing itself: the configuration reads the channel's description at
start, and the channel is imported when first named (``from bot.handlers.console import
ConsoleChannel``)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.handlers.console.channel import CHANNEL, ConsoleChannel, parse_line

__all__ = ["CHANNEL", "ConsoleChannel", "parse_line"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("bot.handlers.console.channel"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

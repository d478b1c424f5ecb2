"""Channels: one folder each (``telegram/``, ...), each declaring its ``ChannelDescription``,
listed in one registry (``registry.py``); ``channels.py`` starts the configured ones.

The package imports nothing itself: the configuration reads the registry at start without
loading a web server or a client library; the names below are imported when first used."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.handlers.channels import Channel, configured_channels, evidence_links

__all__ = ["Channel", "configured_channels", "evidence_links"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("bot.handlers.channels"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

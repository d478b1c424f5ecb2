"""The channels, one line each (and a base of ``ChannelSettings`` for one with settings).

Everything outside a channel's folder reads this list instead of naming channels: the
configuration takes on ``ChannelSettings`` and checks ``channel:id`` against the names, the
composition root reads the pace and the file kinds, ``cdht run`` starts what is served, the web
console and the command line show ``display_name``. ``tests/test_channel_names.py`` fails
where a channel is named anywhere else. Light on purpose: only the descriptions are imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.engine.types import Text
from bot.handlers.console.description import CONSOLE
from bot.handlers.description import ChannelDescription
from bot.handlers.telegram.description import TELEGRAM, TelegramSettings
from bot.handlers.zalo.description import ZALO, ZaloSettings
from bot.handlers.zalo_oa.description import ZALO_OA, ZaloOaSettings

__all__ = [
    "CHANNELS",
    "CHANNEL_NAMES",
    "ChannelSettings",
    "channel_words",
    "describe",
    "served_channels",
]

CHANNELS: tuple[ChannelDescription, ...] = (TELEGRAM, ZALO, ZALO_OA, CONSOLE)


class ChannelSettings(TelegramSettings, ZaloSettings, ZaloOaSettings):
    """Every channel's own ``CDHT_*`` fields and their validation, which
    ``bot.config.Settings`` takes on."""


CHANNEL_NAMES: tuple[str, ...] = tuple(channel.name for channel in CHANNELS)
_BY_NAME = MappingProxyType({channel.name: channel for channel in CHANNELS})


def describe(name: str) -> ChannelDescription | None:
    """A channel's description by its name; None for a name no channel has (a test's)."""
    return _BY_NAME.get(name)


def served_channels() -> tuple[ChannelDescription, ...]:
    """The channels people reach the bot on, which ``cdht run`` serves when configured (not
    the terminal's chat): e.g. a broadcast's audience by channel."""
    return tuple(channel for channel in CHANNELS if channel.served)


def channel_words() -> Mapping[str, Text]:
    """Each channel's name in words (``channel.<name>`` in the catalog), by its name."""
    return MappingProxyType({channel.name: channel.display_name for channel in CHANNELS})

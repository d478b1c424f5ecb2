"""The console as the rest of the bot knows it: a chat in this terminal (``cdht console``)
through the same engine and database, numbered text menus, local files both ways, no
settings, no pace and no webhook; ``cdht run`` does not serve it."""

from __future__ import annotations

from bot.engine.types import t
from bot.handlers.description import ChannelDescription

__all__ = ["CONSOLE"]

CONSOLE = ChannelDescription(
    name="console",
    display_name=t("channel.console"),
    buttons=False,  # numbered menus
    text_limit=None,  # a terminal shows any length
    receives=frozenset({"photo", "document"}),  # ``/file PATH``: a local file
    sends=frozenset({"photo", "document"}),  # shown by their path on this machine
)

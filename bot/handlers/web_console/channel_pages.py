"""The pages channels add to the web console, mounted from the registry: a channel whose
description names a ``web_console`` module (``bot.handlers.<name>.web_console``) gets its
``add_pages(pages)`` called with a ``ChannelPages``, and its folder's ``templates/`` served
under its name (``<name>/<file>``, extending the console's ``base.html``). Nothing here names
a channel: the console reads the descriptions, as the rest of the bot does."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from bot.domain.permissions import Action
from bot.engine import Text
from bot.handlers.web_console.auth import Page, Sessions
from bot.handlers.web_console.view import NavLink, Pages, View

if TYPE_CHECKING:
    from bot.handlers.web import WebServer

__all__ = ["PREFIX", "ChannelPages", "channel_modules"]

PREFIX = "/console/"  # where the web console's pages are


def channel_modules() -> list[tuple[str, ModuleType, Path]]:
    """(name, its ``web_console`` module, the folder of its templates) of each channel with pages
    in the console, in the registry's order; imported now, when the console is built. The
    module has ``add_pages(pages: ChannelPages) -> None``."""
    from bot.handlers.registry import CHANNELS

    found = []
    for channel in CHANNELS:
        if channel.web_console is not None:
            module = import_module(channel.web_console)
            assert module.__file__ is not None
            found.append((channel.name, module, Path(module.__file__).parent / "templates"))
    return found


class ChannelPages(Pages):
    """What a channel's ``add_pages`` adds its pages with: routes served through the session
    guard (a signed-in account that may use the console now, CSRF checked on a POST), a
    navigation link for the accounts the permissions table allows, and its templates' names.
    Each page still asks ``allowed`` itself, as every page of the console does."""

    def __init__(self, view: View, sessions: Sessions, web_server: WebServer, name: str) -> None:
        super().__init__(view)
        self.page = name  # what the channel's pages render as ``page`` (the current link)
        self._sessions = sessions
        self._server = web_server

    def add(self, method: str, path: str, page: Page) -> None:
        """A page of the web console, at a path under ``PREFIX``."""
        self._server.add(method, _page_path(path), self._sessions.guard(page))

    def add_returning(self, path: str, page: Page) -> None:
        """A GET page another site sends the browser back to (an OAuth callback): see
        ``Sessions.returning`` for the cookie such a navigation leaves out."""
        self._server.add("GET", _page_path(path), self._sessions.returning(page))

    def nav(self, path: str, label: Text, action: Action) -> None:
        """A link in the console's navigation, for the accounts allowed ``action``."""
        self.view.nav_links.append(NavLink(_page_path(path), label, action, self.page))

    def template(self, file: str) -> str:
        """The name ``view.render`` knows one of the channel's templates by."""
        return f"{self.page}/{file}"


def _page_path(path: str) -> str:
    if not path.startswith(PREFIX):
        raise ValueError(f"{path!r} is not under {PREFIX}")
    return path

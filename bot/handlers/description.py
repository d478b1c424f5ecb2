"""What a channel says about itself: one ``ChannelDescription`` in its own folder
(``bot/handlers/<name>/description.py``), listed once in ``bot.handlers.registry``.

The configuration takes on the channel's settings, the composition root its pace and file
kinds, ``cdht run`` its way to start, the web console and the command line its name in words,
the deployment check its webhook path: nothing outside the folder and the registry names a
channel. This module imports nothing heavy: the configuration reads it at start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, SecretStr

from bot.engine.types import Text

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers.channels import Channel
    from bot.handlers.web import WebServer
    from bot.services.links import LinkSigner

__all__ = [
    "ChannelDescription",
    "FileKind",
    "OptionalSecret",
    "OptionalUrl",
    "Pacing",
    "Start",
    "Url",
    "Webhook",
    "blank_is_none",
    "http_url",
    "started_from",
]

FileKind = Literal["photo", "document"]

# Builds the channel from the wired app on the one web server (its webhook, and signed
# evidence links when a public address is set); None when its settings do not switch it on.
Start = Callable[["App", "WebServer", "LinkSigner | None"], "Channel | None"]


@dataclass(frozen=True, slots=True)
class Webhook:
    """Receiving by webhook: ``path`` is the one the README tells operators to use and the
    reverse proxy passes on (``deploy/nginx.conf``, checked by ``tests/test_deploy.py``);
    ``url_setting`` and ``secret_setting`` name the settings holding the public URL and its
    secret (the configuration refuses a URL without its secret). A platform where the URL is
    registered by hand and each event is signed (a Zalo Official Account) has neither."""

    path: str
    url_setting: str | None = None
    secret_setting: str | None = None


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast the outbox's sender may send on the channel: the settings holding messages a
    second overall and seconds between two messages to one chat; None: as fast as it can
    (a terminal)."""

    rate: str | None = None
    chat_interval: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelDescription:
    """One channel, as the rest of the bot may know it.

    ``name`` is what records keep (``Inbound.channel``, ``telegram:123`` accounts);
    ``display_name`` its name in words, the catalog's ``channel.<name>``. ``buttons``: inline
    buttons, else numbered text menus and typed answers. ``text_limit``: characters in one
    message (longer texts are split), None for none. ``receives``: the file kinds users can
    send as evidence; ``sends``: those the bot can send as files (others go as a link);
    ``uploads``: a file's bytes go to the platform, so a file made for one delivery is removed
    once delivered. ``settings``: the model of its ``CDHT_*`` fields with their validation,
    composed into ``bot.config.Settings``; ``enabled_by`` the one that switches it on (its
    token) and ``secrets`` those no log line may show. ``start``: how ``cdht run`` starts
    it (None: ``cdht run`` does not serve it, as the terminal's chat). ``commands``: the
    module of its own ``cdht`` commands, if it has any."""

    name: str
    display_name: Text
    buttons: bool
    text_limit: int | None
    receives: frozenset[FileKind]
    sends: frozenset[FileKind]
    uploads: bool = False
    pace: Pacing = Pacing()
    settings: type[BaseModel] | None = None
    enabled_by: str | None = None
    secrets: tuple[str, ...] = ()
    webhook: Webhook | None = None
    start: Start | None = None
    # a module of the folder adding ``cdht`` commands of the channel's own (a Zalo OA's
    # ``cdht zalo-oa connect|list``): ``add_commands(subparsers)`` and ``async
    # run_command(args, settings) -> int``, imported only when the command line is built
    commands: str | None = None
    # a module of the folder with ``async preview(settings, uow, external_ids, now) -> Text |
    # None``: what a broadcast's preview says of the audience on this channel (a Zalo OA: how
    # many only its paid template would reach)
    preview: str | None = None
    # a module of the folder adding pages to the staff's web console (a Zalo OA's page, where
    # admins connect the wards' OAs): ``add_pages(pages)`` with a
    # ``bot.handlers.web_console.channel_pages.ChannelPages``, its templates in the folder's
    # ``templates/``; imported only when the web console is built
    web_console: str | None = None

    @property
    def served(self) -> bool:
        """Whether ``cdht run`` serves it when configured (people reach the bot on it)."""
        return self.start is not None


def started_from(module: str) -> Start:
    """A ``start`` that runs ``module``'s ``start`` function, importing the module only then:
    a description stays data (the configuration reads it without loading the channel), and
    the channel's own modules, which read their description, never reach its client library
    through it. ``tests/test_channel_names.py`` checks that every such module exists."""

    def start(app: App, web_server: WebServer, links: LinkSigner | None) -> Channel | None:
        opened: Start = import_module(module).start
        return opened(app, web_server, links)

    start.__qualname__ = f"started_from({module!r})"
    return start


# -- validation shared by the channels' settings ---------------------------------------------


def blank_is_none(value: object) -> object:
    """An empty or blank variable means "not set"."""
    return None if isinstance(value, str) and not value.strip() else value


def http_url(value: str | None) -> str | None:
    """An http(s) address, without a trailing slash."""
    if value is None:
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


Url = Annotated[str, AfterValidator(http_url)]
OptionalUrl = Annotated[str | None, BeforeValidator(blank_is_none), AfterValidator(http_url)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(blank_is_none)]

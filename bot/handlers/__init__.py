"""Channels: one folder each, listed in one explicit registry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from aiohttp import web as http

from bot.handlers.web import WebServer
from bot.services.evidence import sniff
from bot.services.links import LinkSigner, load_or_create_secret
from bot.services.outbox import Deliverer

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["CHANNEL_FACTORIES", "Channel", "configured_channels", "evidence_links"]


class Channel(Deliverer, Protocol):
    """Receives updates (``run``) and delivers the outbox's messages (``deliver``)."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


def evidence_links(app: App, web_server: WebServer) -> LinkSigner | None:
    """Signed, expiring evidence links under ``CDHT_PUBLIC_BASE_URL`` (for Zalo), if set."""
    base = app.settings.public_base_url
    if not base:
        return None
    signer = LinkSigner(load_or_create_secret(app.settings.data_dir / "link-secret"), base)

    async def serve(request: http.Request) -> http.Response:
        sha256 = signer.verify(request.match_info["token"], int(time.time()))
        if sha256 is None:
            return http.Response(status=403, text="This link is not valid or has expired.")
        path = app.evidence.path(sha256)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return http.Response(status=404)
        return http.Response(body=data, content_type=sniff(data) or "application/octet-stream")

    web_server.add("GET", "/evidence/{token}", serve)
    return signer


def _telegram(app: App, web_server: WebServer, links: LinkSigner | None) -> Channel | None:
    settings = app.settings
    if settings.telegram_token is None:
        return None
    from bot.handlers.telegram import TelegramChannel, telegram_api

    secret = settings.telegram_webhook_secret
    api = telegram_api(
        settings.telegram_backend,
        settings.telegram_token.get_secret_value(),
        settings.telegram_api_url,
    )
    channel = TelegramChannel(
        app.engine,
        app.translator,
        api=api,
        web_server=web_server,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret.get_secret_value() if secret else None,
        max_concurrency=settings.max_concurrent_updates,
        flood=app.flood_guard(),
    )
    app.evidence.register(channel.name, channel.fetch_file)
    return channel


def _zalo(app: App, web_server: WebServer, links: LinkSigner | None) -> Channel | None:
    settings = app.settings
    if settings.zalo_token is None:
        return None
    from bot.handlers.zalo import ZaloChannel

    secret = settings.zalo_webhook_secret
    channel = ZaloChannel(
        app.engine,
        app.translator,
        token=settings.zalo_token.get_secret_value(),
        api_url=settings.zalo_api_url,
        web_server=web_server,
        webhook_url=settings.zalo_webhook_url,
        webhook_secret=secret.get_secret_value() if secret else None,
        links=links,
        link_valid_seconds=settings.link_valid_hours * 3600,
        max_concurrency=settings.max_concurrent_updates,
        flood=app.flood_guard(),
    )
    app.evidence.register(channel.name, channel.fetch_file)
    return channel


ChannelFactory = Callable[["App", WebServer, LinkSigner | None], Channel | None]

# Every channel the bot can serve; each returns None when it is not configured.
CHANNEL_FACTORIES: tuple[ChannelFactory, ...] = (_telegram, _zalo)


def configured_channels(app: App, web_server: WebServer | None = None) -> list[Channel]:
    """The configured channels; on the web server, their webhooks and, with a public address,
    the evidence links and the staff's web console."""
    server = web_server or WebServer(app.settings.webhook_host, app.settings.webhook_port)
    links = evidence_links(app, server)
    channels = [
        ch for factory in CHANNEL_FACTORIES if (ch := factory(app, server, links)) is not None
    ]
    if app.settings.public_base_url:
        from bot.handlers.web_console import WebConsole

        WebConsole(app, server)
    return channels

"""The channels ``cdht run`` serves: each registered channel that its settings switch on,
on the one web server (its webhook), with the signed evidence links and the staff's web
console when a public address is set."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Protocol

from aiohttp import web as http

from bot.handlers.registry import CHANNELS
from bot.handlers.web import WebServer
from bot.services.evidence import sniff
from bot.services.links import LinkSigner, load_or_create_secret
from bot.services.outbox import Deliverer

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["Channel", "configured_channels", "evidence_links"]


class Channel(Deliverer, Protocol):
    """Receives updates (``run``) and delivers the outbox's messages (``deliver``)."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


def evidence_links(app: App, web_server: WebServer) -> LinkSigner | None:
    """Signed, expiring evidence links under ``CDHT_PUBLIC_BASE_URL`` (for channels that send a
    file as a link), if set."""
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


def configured_channels(app: App, web_server: WebServer | None = None) -> list[Channel]:
    """The configured channels, in the registry's order; on the web server, their webhooks
    and, with a public address, the evidence links and the staff's web console."""
    server = web_server or WebServer(app.settings.webhook_host, app.settings.webhook_port)
    links = evidence_links(app, server)
    channels = [
        channel
        for description in CHANNELS
        if description.start is not None
        and (channel := description.start(app, server, links)) is not None
    ]
    if app.settings.public_base_url:
        from bot.handlers.web_console import WebConsole

        WebConsole(app, server)
    return channels

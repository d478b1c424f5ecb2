"""How ``cdht run`` starts Zalo: the channel, sending files as signed links."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handlers.zalo.channel import ZaloChannel

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers.channels import Channel
    from bot.handlers.web import WebServer
    from bot.services.links import LinkSigner

__all__ = ["start"]


def start(app: App, web_server: WebServer, links: LinkSigner | None) -> Channel | None:
    """The channel, when ``CDHT_ZALO_TOKEN`` is set; files go out as signed links (``links``)."""
    settings = app.settings
    if settings.zalo_token is None:
        return None
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

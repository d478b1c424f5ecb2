"""How ``cdht run`` starts Telegram: the channel on the client library the settings choose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handlers.telegram import telegram_api
from bot.handlers.telegram.channel import TelegramChannel

if TYPE_CHECKING:
    from bot.app import App
    from bot.handlers.channels import Channel
    from bot.handlers.web import WebServer
    from bot.services.links import LinkSigner

__all__ = ["start"]


def start(app: App, web_server: WebServer, links: LinkSigner | None) -> Channel | None:
    """The channel, when ``CDHT_TELEGRAM_TOKEN`` is set, on ``CDHT_TELEGRAM_BACKEND``'s library."""
    settings = app.settings
    if settings.telegram_token is None:
        return None
    secret = settings.telegram_webhook_secret
    api = telegram_api(
        settings.telegram_backend,
        settings.telegram_token.get_secret_value(),
        settings.telegram_api_url,
        # updates handled at once, outbox sends at once, getUpdates and one spare
        settings.max_concurrent_updates + settings.sender_concurrency + 2,
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

"""Channels: one folder each, listed in one explicit registry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from bot.services.outbox import Deliverer

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["CHANNEL_FACTORIES", "Channel", "configured_channels"]


class Channel(Deliverer, Protocol):
    """Receives updates (``run``) and delivers the outbox's messages (``deliver``)."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


def _telegram(app: App) -> Channel | None:
    settings = app.settings
    if settings.telegram_token is None:
        return None
    from bot.handlers.telegram import TelegramChannel

    secret = settings.telegram_webhook_secret
    channel = TelegramChannel(
        app.engine,
        app.translator,
        token=settings.telegram_token.get_secret_value(),
        api_url=settings.telegram_api_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret.get_secret_value() if secret else None,
        listen=(settings.webhook_host, settings.webhook_port),
        max_concurrency=settings.max_concurrent_updates,
    )
    app.evidence.register(channel.name, channel.fetch_file)
    return channel


# Every channel the bot can serve; each returns None when it is not configured.
CHANNEL_FACTORIES: tuple[Callable[[App], Channel | None], ...] = (_telegram,)


def configured_channels(app: App) -> list[Channel]:
    return [channel for factory in CHANNEL_FACTORIES if (channel := factory(app)) is not None]

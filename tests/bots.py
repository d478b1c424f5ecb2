"""Running the bot as `cdht run` does (channels, outbox senders, scheduler, web server),
pointed at the fake Bot API servers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pydantic import SecretStr

from bot.app import App
from bot.cli.supervision import serve
from bot.config import Settings
from bot.handlers import Channel, configured_channels
from bot.handlers.web import WebServer
from tests.conftest import started_app
from tests.fakes.telegram_api import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import TOKEN as ZALO_TOKEN
from tests.fakes.zalo_api import FakeZalo


@dataclass
class Running:
    app: App
    channels: dict[str, Channel]
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def channel(self) -> Channel:
        (only,) = self.channels.values()
        return only

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)
        await self.app.close()


async def start_bot(
    settings: Settings,
    telegram: FakeTelegram | None = None,
    zalo: FakeZalo | None = None,
    **overrides: object,
) -> Running:
    update: dict[str, object] = {}
    if telegram is not None:
        update.update(telegram_token=SecretStr(TELEGRAM_TOKEN), telegram_api_url=telegram.url)
    if zalo is not None:
        update.update(zalo_token=SecretStr(ZALO_TOKEN), zalo_api_url=zalo.url)
    configured = settings.model_copy(update={**update, **overrides})
    app = await started_app(configured)
    web_server = WebServer(configured.webhook_host, configured.webhook_port)
    channels = {channel.name: channel for channel in configured_channels(app, web_server)}
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, list(channels.values()), stop, web_server=web_server))
    if web_server.needed:
        await asyncio.wait_for(web_server.started.wait(), 10)
    return Running(app, channels, stop, task)

"""How ``cdht run`` starts the Zalo Official Account channel: one app's client, the OAs'
tokens kept in the store, the webhook on the bot's web server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handlers.zalo_oa.channel import ZaloOaChannel
from bot.handlers.zalo_oa.client import OaApi
from bot.handlers.zalo_oa.description import ZALO_OA
from bot.handlers.zalo_oa.tokens import OaTokens

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings
    from bot.handlers.channels import Channel
    from bot.handlers.web import WebServer
    from bot.services.links import LinkSigner

__all__ = ["api_of", "start"]


def api_of(settings: Settings) -> OaApi:
    """The app's client (the settings say it is configured: ``CDHT_ZALO_OA_APP_ID``)."""
    assert settings.zalo_oa_app_id
    assert settings.zalo_oa_app_secret is not None
    return OaApi(
        settings.zalo_oa_app_id,
        settings.zalo_oa_app_secret.get_secret_value(),
        api_url=settings.zalo_oa_api_url,
        oauth_url=settings.zalo_oa_oauth_url,
        business_url=settings.zalo_oa_business_url,
    )


def start(app: App, web_server: WebServer, links: LinkSigner | None) -> Channel | None:
    """The channel, when ``CDHT_ZALO_OA_APP_ID`` is set; files go out as signed links."""
    settings = app.settings
    if not settings.zalo_oa_app_id or settings.zalo_oa_secret_key is None:
        return None
    assert ZALO_OA.webhook is not None
    channel = ZaloOaChannel(
        app.engine,
        app.translator,
        tokens=OaTokens(api_of(settings), app.store),
        store=app.store,
        secret_key=settings.zalo_oa_secret_key.get_secret_value(),
        web_server=web_server,
        path=ZALO_OA.webhook.path,
        template_id=settings.zalo_oa_template_id,
        links=links,
        link_valid_seconds=settings.link_valid_hours * 3600,
        max_concurrency=settings.max_concurrent_updates,
        flood=app.flood_guard(),
    )
    app.evidence.register(channel.name, channel.fetch_file)
    return channel

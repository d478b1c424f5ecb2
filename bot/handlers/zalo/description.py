"""Zalo (the Zalo Bot Platform) as the rest of the bot knows it: no buttons (numbered text
menus), photos only from users, its ``CDHT_ZALO_*`` settings, its pace, its webhook path and
how ``cdht run`` starts it."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.engine.types import t
from bot.handlers.description import (
    ChannelDescription,
    OptionalSecret,
    OptionalUrl,
    Pacing,
    Url,
    Webhook,
    started_from,
)

__all__ = ["OFFICIAL_ZALO_API", "TEXT_LIMIT", "ZALO", "ZaloSettings"]

OFFICIAL_ZALO_API = "https://bot-api.zaloplatforms.com"
TEXT_LIMIT = 2000  # characters in one message


class ZaloSettings(BaseModel):
    """Zalo's ``CDHT_ZALO_*`` variables, which ``bot.config.Settings`` takes on."""

    zalo_token: OptionalSecret = None
    zalo_api_url: Url = OFFICIAL_ZALO_API
    zalo_webhook_url: OptionalUrl = None
    zalo_webhook_secret: OptionalSecret = None
    zalo_rate: float = Field(default=10, gt=0, le=1000)
    zalo_chat_interval: float = Field(default=1.0, ge=0, le=60)

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # The Zalo Bot Platform's setWebhook takes a secret_token of 8 to 256 characters.
        if value is not None and not 8 <= len(value.get_secret_value()) <= 256:
            raise ValueError("8 to 256 characters (the Zalo Bot Platform's rule)")
        return value


ZALO = ChannelDescription(
    name="zalo",
    display_name=t("channel.zalo"),
    buttons=False,  # every choice is a numbered menu, answered by typing
    text_limit=TEXT_LIMIT,
    receives=frozenset({"photo"}),  # Zalo users can send photos, not documents
    sends=frozenset({"photo"}),  # a photo by its signed link; any other file as the link
    pace=Pacing(rate="zalo_rate", chat_interval="zalo_chat_interval"),
    settings=ZaloSettings,
    enabled_by="zalo_token",
    secrets=("zalo_token", "zalo_webhook_secret"),
    # the path, and the settings of the public URL and of its secret
    webhook=Webhook("/zalo", "zalo_webhook_url", "zalo_webhook_secret"),
    start=started_from("bot.handlers.zalo.start"),
)

"""Telegram as the rest of the bot knows it: inline buttons, photos and documents both ways,
its ``CDHT_TELEGRAM_*`` settings, its pace, its webhook path and how ``cdht run`` starts it."""

from __future__ import annotations

import re
from typing import Literal

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

__all__ = ["OFFICIAL_TELEGRAM_API", "TELEGRAM", "TEXT_LIMIT", "TelegramSettings"]

OFFICIAL_TELEGRAM_API = "https://api.telegram.org"
TEXT_LIMIT = 4096  # characters in one message (https://core.telegram.org/bots/api#sendmessage)


class TelegramSettings(BaseModel):
    """Telegram's ``CDHT_TELEGRAM_*`` variables, which ``bot.config.Settings`` takes on."""

    telegram_token: OptionalSecret = None
    telegram_api_url: Url = OFFICIAL_TELEGRAM_API
    # the client library under the Telegram channel; both behave the same (tests run on both)
    telegram_backend: Literal["aiogram", "ptb"] = "ptb"
    telegram_webhook_url: OptionalUrl = None
    telegram_webhook_secret: OptionalSecret = None
    telegram_rate: float = Field(default=25, gt=0, le=1000)  # messages per second
    telegram_chat_interval: float = Field(default=1.0, ge=0, le=60)  # seconds, one chat

    @field_validator("telegram_token")
    @classmethod
    def _telegram_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, sep, secret = value.get_secret_value().partition(":")
            if not sep or not bot_id.isdigit() or not secret:
                raise ValueError("does not look like a bot token (digits:secret)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # https://core.telegram.org/bots/api#setwebhook: secret_token, "1-256 characters. Only
        # characters A-Z, a-z, 0-9, _ and - are allowed."
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value


TELEGRAM = ChannelDescription(
    name="telegram",
    display_name=t("channel.telegram"),
    buttons=True,
    text_limit=TEXT_LIMIT,
    receives=frozenset({"photo", "document"}),
    sends=frozenset({"photo", "document"}),
    uploads=True,  # a file's bytes go to Telegram: one made for this delivery can go
    pace=Pacing(rate="telegram_rate", chat_interval="telegram_chat_interval"),
    settings=TelegramSettings,
    enabled_by="telegram_token",
    secrets=("telegram_token", "telegram_webhook_secret"),
    # the path, and the settings of the public URL and of its secret
    webhook=Webhook("/telegram", "telegram_webhook_url", "telegram_webhook_secret"),
    start=started_from("bot.handlers.telegram.start"),
)

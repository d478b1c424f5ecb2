"""A ward's Zalo Official Account as the rest of the bot knows it: numbered text menus, photos
and documents from users (downloaded from the attachment's URL), its ``CDHT_ZALO_OA_*``
settings, its pace, its webhook path and how ``cdht run`` starts it."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from bot.engine.types import t
from bot.handlers.description import (
    ChannelDescription,
    OptionalSecret,
    Pacing,
    Url,
    Webhook,
    started_from,
)

__all__ = ["TEXT_LIMIT", "ZALO_OA", "ZaloOaSettings"]

TEXT_LIMIT = 2000  # characters of one consultation message


class ZaloOaSettings(BaseModel):
    """The OA channel's ``CDHT_ZALO_OA_*`` variables, which ``bot.config.Settings`` takes on.
    One Zalo app (the city association's); each ward's OA grants it access and is connected
    with ``cdht zalo-oa connect`` or on the web console's page."""

    zalo_oa_app_id: str | None = None
    zalo_oa_app_secret: OptionalSecret = None
    zalo_oa_secret_key: OptionalSecret = None  # the OA secret key that signs the events
    zalo_oa_api_url: Url = "https://openapi.zalo.me"
    zalo_oa_oauth_url: Url = "https://oauth.zaloapp.com"
    zalo_oa_business_url: Url = "https://business.openapi.zalo.me"
    zalo_oa_template_id: str | None = None  # the approved reminder template (ZBS)
    # 4,000 requests a minute for the app (error -32 beyond): 60 a second leaves a margin
    zalo_oa_rate: float = Field(default=60, gt=0, le=1000)
    zalo_oa_chat_interval: float = Field(default=0.5, ge=0, le=60)

    @model_validator(mode="after")
    def _app_complete(self) -> ZaloOaSettings:
        if self.zalo_oa_app_id:
            for name in ("zalo_oa_app_secret", "zalo_oa_secret_key"):
                if getattr(self, name) is None:
                    raise ValueError(f"CDHT_{name.upper()} is required with CDHT_ZALO_OA_APP_ID")
        return self


ZALO_OA = ChannelDescription(
    name="zalo_oa",
    display_name=t("channel.zalo_oa"),
    buttons=False,  # numbered menus, answered by typing (the OA's button templates unused)
    text_limit=TEXT_LIMIT,
    receives=frozenset({"photo", "document"}),
    sends=frozenset(),  # files go out as signed links
    pace=Pacing(rate="zalo_oa_rate", chat_interval="zalo_oa_chat_interval"),
    settings=ZaloOaSettings,
    enabled_by="zalo_oa_app_id",
    secrets=("zalo_oa_app_secret", "zalo_oa_secret_key"),
    webhook=Webhook("/zalo-oa"),  # registered in the app's settings on Zalo; events are signed
    start=started_from("bot.handlers.zalo_oa.start"),
    commands="bot.handlers.zalo_oa.commands",
    preview="bot.handlers.zalo_oa.preview",
    web_console="bot.handlers.zalo_oa.web_console",
)

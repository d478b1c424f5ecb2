"""Settings from the environment or a `.env` file, prefix ``CDHT_``: the bot's own, and every
registered channel's (``bot.handlers.registry.ChannelSettings``, each declared in the channel's
folder)."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.handlers.description import OptionalUrl
from bot.handlers.registry import CHANNEL_NAMES, CHANNELS, ChannelSettings

__all__ = ["AdminRef", "ConfigError", "Settings", "load_settings"]

LETTER_MAX_LINES = 4  # the letter's issuer lines, and the lines above its title
LETTER_MAX_LINE = 90  # characters in one of them


class ConfigError(Exception):
    """A configuration value is wrong; the message names the variable."""


class AdminRef(tuple[str, str]):
    """`channel:external_id` of a city admin."""

    __slots__ = ()

    @classmethod
    def parse(cls, raw: str) -> AdminRef:
        channel, sep, external_id = raw.strip().partition(":")
        if not sep or channel not in CHANNEL_NAMES or not external_id.strip():
            raise ValueError(f"expected channel:id with channel in {'/'.join(CHANNEL_NAMES)}")
        return cls((channel, external_id.strip()))

    def __str__(self) -> str:
        return f"{self[0]}:{self[1]}"


class Settings(BaseSettings, ChannelSettings):
    model_config = SettingsConfigDict(
        env_prefix="CDHT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("var")
    database_url: str | None = None
    # where the web console, the letters' verification page and signed evidence links (how
    # a channel that cannot upload a file sends it) are reached
    public_base_url: OptionalUrl = None
    # evidence files: a directory every process reads (several processes: a shared one)
    evidence_dir: Path | None = None
    link_valid_hours: int = Field(default=24, ge=1, le=24 * 30)
    sender_concurrency: int = Field(default=8, ge=1, le=100)
    quiet_hours: Annotated[tuple[int, int] | None, NoDecode] = (21 * 60, 7 * 60)
    reminder_idle_days: int = Field(default=3, ge=1, le=60)
    reminder_max: int = Field(default=3, ge=0, le=10)
    reminder_start_days: int = Field(default=2, ge=1, le=60)
    reminder_returned_days: int = Field(default=7, ge=1, le=60)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    default_locale: Literal["vi", "en"] = "vi"
    province_code: int = 31
    wards_csv: Path | None = None
    population_csv: Path | None = None  # code,adults,staff per unit: QĐ 677's targets' base
    ward_aliases_csv: Path | None = None  # former units' names (old_name,code) to find by
    admins: Annotated[tuple[AdminRef, ...], NoDecode] = ()
    data_controller: str = "Hội Khuyến học thành phố Hải Phòng"
    # the recognition letter's head: who issues it (empty: the data controller) and the lines
    # above its title (empty: none; e.g. a national motto, only where the issuer may use one);
    # lines separated by | or new lines
    letter_issuer: Annotated[tuple[str, ...], NoDecode] = ()
    letter_header: Annotated[tuple[str, ...], NoDecode] = ()
    # how people reach the controller about their data; named in the consent notice
    data_controller_contact: str = "văn phòng Hội Khuyến học phường/xã nơi cư trú"  # set a phone
    retention_until: int = Field(default=2030, ge=2025, le=2100)  # the campaign's last year
    # evidence files are deleted this many days after a declaration's final decision
    evidence_retention_days: int = Field(default=90, ge=1, le=3650)
    consent_notice_version: str = "2026-12"
    max_concurrent_updates: int = Field(default=16, ge=1, le=512)
    # `cdht run`'s event loop: uvloop's where it is installed (not on Windows), else asyncio's
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    flood_burst: int = Field(default=30, ge=1, le=10_000)  # updates an account may send at once
    flood_rate: float = Field(default=1.0, gt=0, le=1000)  # then this many a second
    criteria_set: str = "qd324-2023"
    campaign_year: int | None = Field(default=None, ge=2020, le=2100)
    evidence_max_mb: float = Field(default=10, gt=0, le=20)  # Telegram bots download up to 20 MB
    evidence_max_files: int = Field(default=5, ge=1, le=50)
    invite_valid_days: int = Field(default=7, ge=1, le=90)
    review_hold_hours: int = Field(default=24, ge=1, le=24 * 14)
    # open declarations a reviewer is given at most (`cdht coordinator capacity ID N` per person)
    review_capacity: int = Field(default=40, ge=1, le=10_000)
    digest_hour: int = Field(default=8, ge=0, le=23)  # Asia/Ho_Chi_Minh
    escalate_after_days: int = Field(default=7, ge=1, le=90)

    @field_validator("campaign_year", mode="before")
    @classmethod
    def _blank_year(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: object) -> object:
        """``21:00-07:00`` as minutes of the day; an empty value turns quiet hours off."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            start, end = (part.strip() for part in value.split("-"))
            minutes = []
            for part in (start, end):
                hours, _, mins = part.partition(":")
                if not (0 <= int(hours) < 24 and 0 <= int(mins or 0) < 60):
                    raise ValueError
                minutes.append(int(hours) * 60 + int(mins or 0))
        except ValueError:
            raise ValueError("expected HH:MM-HH:MM, e.g. 21:00-07:00, or empty") from None
        return tuple(minutes)

    @field_validator("letter_issuer", "letter_header", mode="before")
    @classmethod
    def _letter_lines(cls, value: object) -> object:
        """Lines separated by ``|`` or new lines; blank ones dropped; printable text only."""
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("|", "\n").split("\n")
        if not isinstance(value, (list, tuple)):
            return value
        lines = tuple(str(line).strip() for line in value if str(line).strip())
        if len(lines) > LETTER_MAX_LINES:
            raise ValueError(f"at most {LETTER_MAX_LINES} lines (separated by | or new lines)")
        for line in lines:
            if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in line):
                raise ValueError("control or invisible characters are not allowed")
            if len(line) > LETTER_MAX_LINE:
                raise ValueError(f"a line is longer than {LETTER_MAX_LINE} characters")
        return lines

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(AdminRef.parse(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("province_code")
    @classmethod
    def _known_province(cls, value: int) -> int:
        from vietnam_provinces import ProvinceCode

        try:
            ProvinceCode(value)
        except ValueError:
            raise ValueError("unknown province code") from None
        return value

    @model_validator(mode="after")
    def _webhook_pair(self) -> Settings:
        """A channel's webhook URL needs its secret (the platform sends it with each update)."""
        for hook in (channel.webhook for channel in CHANNELS if channel.webhook is not None):
            secret = hook.secret_setting
            if hook.url_setting is None or secret is None:
                continue  # the platform signs each event (set by hand in its console)
            if getattr(self, hook.url_setting) and getattr(self, secret) is None:
                raise ValueError(f"CDHT_{secret.upper()} is required with a webhook URL")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'cdht.sqlite3').resolve()}"

    def secrets(self) -> list[str]:
        """Secret values that must never reach a log line."""
        found = [getattr(self, name) for channel in CHANNELS for name in channel.secrets]
        return [s.get_secret_value() for s in found if isinstance(s, SecretStr) and s]


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ("",)
        name = str(loc[0]).upper()
        variable = f"CDHT_{name}" if name else "configuration"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {message}") from None

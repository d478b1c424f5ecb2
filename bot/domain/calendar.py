"""The campaign's clock: Viet Nam's time (Asia/Ho_Chi_Minh, UTC+7 all year: no daylight saving)
and the campaign year, defined once for the chat, the web console, the files and the command
line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["VN_TIME", "campaign_year", "local_date", "local_time"]

VN_TIME = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


def local_time(moment: datetime) -> datetime:
    """A moment as a clock in Viet Nam shows it."""
    return moment.astimezone(VN_TIME)


def local_date(moment: datetime) -> str:
    """dd/mm/yyyy in Viet Nam."""
    return local_time(moment).strftime("%d/%m/%Y")


def campaign_year(now: datetime, configured: int | None = None) -> int:
    """The year declarations are made for: ``CDHT_CAMPAIGN_YEAR`` if set, else the calendar
    year in Viet Nam."""
    return configured or local_time(now).year

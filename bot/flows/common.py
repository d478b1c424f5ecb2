"""What every flow may use: the service bundle built in bot/app.py, and small shared helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.engine import FlowContext, Retry, t
from bot.services.criteria import CriteriaSet
from bot.services.evidence import BlobSink, EvidenceLimits
from bot.services.wards import WardDirectory

__all__ = ["VN_TIME", "Services", "choose", "local_date", "services"]

VN_TIME = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving in Viet Nam


@dataclass(frozen=True, slots=True)
class Services:
    wards: WardDirectory
    data_controller: str
    notice_version: str
    criteria: Mapping[str, CriteriaSet] = field(default_factory=dict)
    criteria_set: str = "qd324-2023"  # the set new declarations are made under
    campaign_year: int | None = None  # None: the calendar year in Viet Nam
    evidence: EvidenceLimits = field(default_factory=EvidenceLimits)
    admins: tuple[str, ...] = ()  # channel:id accounts from CDHT_ADMINS
    invite_valid: timedelta = timedelta(days=7)
    review_hold: timedelta = timedelta(hours=24)  # an open review is released after this
    photo_only_channels: frozenset[str] = frozenset()  # channels where no document can be sent
    quiet_hours: tuple[int, int] | None = (21 * 60, 7 * 60)  # minutes of the day, local time
    files: BlobSink | None = None  # where files the bot makes (exports) are kept for sending
    # after an erasure has committed: remove its evidence files (unless still used elsewhere)
    erased: Callable[[Sequence[str]], Awaitable[None]] | None = None
    # once its last reply is delivered too: leave no erased byte in the database's files
    compact: Callable[[], Awaitable[None]] | None = None

    def year(self, now: datetime) -> int:
        return self.campaign_year or now.astimezone(VN_TIME).year


def services(ctx: FlowContext) -> Services:
    bundle = ctx.services
    assert isinstance(bundle, Services)
    return bundle


def local_date(moment: datetime) -> str:
    return moment.astimezone(VN_TIME).strftime("%d/%m/%Y")


def choose() -> Retry:
    return Retry(t("engine.choose_option"))

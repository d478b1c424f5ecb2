"""What every flow may use: the service bundle built in bot/app.py, and small shared helpers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain.calendar import VN_TIME, campaign_year, local_date
from bot.domain.criteria import CriteriaSet, Indicator
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.validation import national_phone
from bot.domain.wards import WardDirectory
from bot.engine import ChoiceSpec, Expect, FlowContext, Joined, Prompt, Retry, Text, t
from bot.engine.phrases import phrases
from bot.services.evidence import BlobSink, EvidenceLimits
from bot.services.letters import LetterSigner
from bot.services.report import Population, Targets

__all__ = [
    "VN_TIME",
    "Ctx",
    "Services",
    "choose",
    "guide_text",
    "local_date",
    "national_phone",
    "services",
    "typed_score",
]


# What a step of the campaign's flows sees: the domain's unit of work, the account's citizen.
Ctx = FlowContext[UnitOfWork, Citizen]


@dataclass(frozen=True, slots=True)
class Services:
    wards: WardDirectory
    data_controller: str
    notice_version: str
    data_controller_contact: str = ""  # how to reach the controller, named in the notice
    retention_until: int = 2030  # data are kept while the campaign runs, until this year
    evidence_retention_days: int = 90  # evidence files go this long after the final decision
    criteria: Mapping[str, CriteriaSet] = field(default_factory=dict)
    criteria_set: str = "qd324-2023"  # the set new declarations are made under
    campaign_year: int | None = None  # None: the calendar year in Viet Nam
    evidence: EvidenceLimits = field(default_factory=EvidenceLimits)
    admins: tuple[str, ...] = ()  # channel:id accounts from CDHT_ADMINS
    invite_valid: timedelta = timedelta(days=7)
    review_hold: timedelta = timedelta(hours=24)  # an open review is released after this
    review_capacity: int = 40  # open declarations a reviewer is given at most, by default
    photo_only_channels: frozenset[str] = frozenset()  # channels where no document can be sent
    quiet_hours: tuple[int, int] | None = (21 * 60, 7 * 60)  # minutes of the day, local time
    files: BlobSink | None = None  # where files the bot makes (exports) are kept for sending
    # after an erasure has committed: remove its evidence files (unless still used elsewhere)
    erased: Callable[[Sequence[str]], Awaitable[None]] | None = None
    # once its last reply is delivered too: leave no erased byte in the database's files
    compact: Callable[[], Awaitable[None]] | None = None
    translate: Callable[..., str] | None = None  # (locale, key, **params): for files' contents
    # QĐ 677's, for reports (none unless loaded)
    targets: Targets = field(default_factory=lambda: Targets("", ()))
    population: Population | None = None  # per unit, from CDHT_POPULATION_CSV
    letters: LetterSigner | None = None  # recognition letters and their verification links
    public_base_url: str | None = None  # where the web console and letters are reached
    # what a broadcast's preview adds about its audience, channel by channel (a Zalo OA: how
    # many only its paid template reaches): (uow, audience, now) -> sentences
    preview_notes: Callable[[Any, dict[str, Any], datetime], Awaitable[list[Text]]] | None = None

    def year(self, now: datetime) -> int:
        return campaign_year(now, self.campaign_year)


def services(ctx: Ctx) -> Services:
    bundle = ctx.services
    assert isinstance(bundle, Services)
    return bundle


def choose() -> Retry:
    return Retry(t("engine.choose_option"))


def agree_or_later(text: Text, agree: Text, later: Text, short: Text | None = None) -> Prompt:
    """A consent question: ``agree`` (typed "có", "đồng ý" …) or ``later`` ("không" …);
    ``short`` is asked again after an answer that fits neither."""
    return Prompt(
        text,
        (ChoiceSpec("agree", agree, "yes"), ChoiceSpec("later", later, "no")),
        Expect.CHOICE,
        short=short,
    )


_SIGNED = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]+")


def typed_score(text: str) -> int | str:
    """The score a typed answer gives ("8", "tám", "8 điểm", "điểm 8", "8đ"), or why there is
    none: ``decimal`` ("7,5"), ``dont_know`` ("không biết", "?"), ``unreadable``."""
    typed = text.strip()
    if _DECIMAL.search(typed):
        return "decimal"
    if _SIGNED.fullmatch(typed):
        return int(typed)
    number = phrases().number(typed)
    if number is not None:
        return number
    return "dont_know" if phrases().is_dont_know(typed) else "unreadable"


def guide_text(indicator: Indicator, locale: str) -> Text:
    """What each band of scores means for one indicator, from the criteria file."""
    bands = tuple(
        t("decl.score.guide.band", low=band.low, high=band.high, text=band.text[locale])
        for band in indicator.guide
    )
    return t("decl.score.guide", n=indicator.id, bands=Joined(bands, "\n"))


# Variants shown instead on channels without buttons (Zalo, the console): ``Engine.text`` picks
# a message id's ".typed" variant when there is one. Listed here so that `make messages` keeps
# them in the catalogs.
TYPED_VARIANTS = (
    t("reg.phone.prompt.typed"),
    t("engine.help.typed"),
    t("engine.stale.typed"),
)

"""The criteria set as versioned data: loading, validation, and the recognition rule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CRITERIA_DIR",
    "DEFAULT_SET",
    "LOCALES",
    "ORIGINS",
    "Band",
    "CriteriaError",
    "CriteriaSet",
    "Evaluation",
    "Indicator",
    "load_criteria",
]

CRITERIA_DIR = Path(__file__).resolve().parent / "criteria"
DEFAULT_SET = "qd324-2023"
LOCALES = ("vi", "en")

Localized = Mapping[str, str]


class CriteriaError(ValueError):
    """The criteria file is wrong; the message names the file and the problem."""


ORIGINS = ("official", "framework", "ours")


@dataclass(frozen=True, slots=True)
class Band:
    """What a range of scores means ("8–10: reads every day…")."""

    low: int
    high: int
    text: Localized


@dataclass(frozen=True, slots=True)
class Indicator:
    id: int
    competency: str
    max: int
    text: Localized
    hint: Localized
    text_by_group: Mapping[int, Localized]
    short: Localized
    guide: tuple[Band, ...] = ()
    hint_by_group: Mapping[int, Localized] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)  # which texts are official

    def wording(self, group: int, locale: str) -> str:
        return self.text_by_group.get(group, self.text)[locale]

    def hint_for(self, group: int, locale: str) -> str:
        return self.hint_by_group.get(group, self.hint)[locale]

    def band(self, score: int) -> Band | None:
        return next((band for band in self.guide if band.low <= score <= band.high), None)


@dataclass(frozen=True, slots=True)
class Minimum:
    indicators: tuple[int, ...]
    min: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    total: int
    answered: int
    complete: bool
    recognised: bool
    below_total: bool  # the total is under the rule's minimum
    low: tuple[tuple[int, int], ...]  # (indicator, its minimum) for each indicator under it


@dataclass(frozen=True, slots=True)
class CriteriaSet:
    id: str
    title: Localized
    competencies: Mapping[str, Localized]
    indicators: tuple[Indicator, ...]
    min_total: int
    minimums: tuple[Minimum, ...]

    @property
    def size(self) -> int:
        return len(self.indicators)

    @property
    def max_total(self) -> int:
        return sum(indicator.max for indicator in self.indicators)

    def indicator(self, indicator_id: int) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)

    def evaluate(self, scores: Mapping[int, int | None]) -> Evaluation:
        """The rule applied to the scores given so far (missing ones count as not yet given)."""
        given = {i.id: scores[i.id] for i in self.indicators if scores.get(i.id) is not None}
        total = sum(score for score in given.values() if score is not None)
        low = tuple(
            (indicator, minimum.min)
            for minimum in self.minimums
            for indicator in minimum.indicators
            if indicator in given and (given[indicator] or 0) < minimum.min
        )
        complete = len(given) == self.size
        below_total = total < self.min_total
        return Evaluation(
            total, len(given), complete, complete and not below_total and not low, below_total, low
        )


def _localized(raw: Any, where: str) -> Localized:
    if not isinstance(raw, dict):
        raise CriteriaError(f"{where}: expected a {{vi, en}} object")
    for locale in LOCALES:
        value = raw.get(locale)
        if not isinstance(value, str) or not value.strip():
            raise CriteriaError(f"{where}: missing the {locale!r} translation")
    return {locale: raw[locale].strip() for locale in LOCALES}


def _by_group(raw: Any, where: str) -> dict[int, Localized]:
    found: dict[int, Localized] = {}
    for group, text in (raw or {}).items():
        if str(group) not in {"1", "2", "3", "4"}:
            raise CriteriaError(f"{where}: unknown target group {group!r}")
        found[int(group)] = _localized(text, f"{where} for group {group}")
    return found


def _guide(raw: Any, maximum: int, where: str) -> tuple[Band, ...]:
    """Score bands that cover 0 to the maximum, in order, without gaps or overlaps."""
    if not isinstance(raw, list) or not raw:
        raise CriteriaError(f"{where} guide: expected a list of score bands")
    bands = []
    expected = 0
    for number, band in enumerate(raw, 1):
        low, high = (band.get("from"), band.get("to")) if isinstance(band, dict) else (None, None)
        if not isinstance(low, int) or not isinstance(high, int) or low != expected or high < low:
            raise CriteriaError(f"{where} guide: band {number} should start at {expected}")
        bands.append(Band(low, high, _localized(band, f"{where} guide band {number}")))
        expected = high + 1
    if expected != maximum + 1:
        raise CriteriaError(f"{where} guide: the bands end at {expected - 1}, not at {maximum}")
    return tuple(bands)


def _origin(raw: Any, where: str) -> dict[str, str]:
    found = dict(raw or {})
    for part, origin in found.items():
        if origin not in ORIGINS:
            raise CriteriaError(f"{where} origin of {part}: one of {', '.join(ORIGINS)}")
    return found


def _parse(data: Any) -> CriteriaSet:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise CriteriaError("the file needs an object with a string 'id'")
    competencies: dict[str, Localized] = {}
    for number, raw in enumerate(data.get("competencies") or [], 1):
        cid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(cid, str):
            raise CriteriaError(f"competency #{number}: needs a string 'id'")
        if cid in competencies:
            raise CriteriaError(f"competency {cid!r}: duplicate id")
        competencies[cid] = _localized(raw.get("name"), f"competency {cid!r} name")
    indicators: list[Indicator] = []
    for number, raw in enumerate(data.get("indicators") or [], 1):
        iid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(iid, int) or isinstance(iid, bool) or iid < 1:
            raise CriteriaError(f"indicator #{number}: needs a positive integer 'id'")
        where = f"indicator {iid}"
        if any(existing.id == iid for existing in indicators):
            raise CriteriaError(f"{where}: duplicate id")
        if raw.get("competency") not in competencies:
            raise CriteriaError(f"{where}: unknown competency {raw.get('competency')!r}")
        maximum = raw.get("max")
        if not isinstance(maximum, int) or isinstance(maximum, bool) or not 1 <= maximum <= 100:
            raise CriteriaError(f"{where}: bad maximum {maximum!r} (an integer from 1 to 100)")
        indicators.append(
            Indicator(
                iid,
                raw["competency"],
                maximum,
                _localized(raw.get("text"), f"{where} text"),
                _localized(raw.get("hint"), f"{where} hint"),
                _by_group(raw.get("text_by_group"), f"{where} text"),
                _localized(raw.get("short"), f"{where} short name"),
                _guide(raw.get("guide"), maximum, where),
                _by_group(raw.get("hint_by_group"), f"{where} hint"),
                _origin(raw.get("origin"), where),
            )
        )
    if not indicators:
        raise CriteriaError("no indicators")
    rule = data.get("recognition")
    if not isinstance(rule, dict) or not isinstance(rule.get("min_total"), int):
        raise CriteriaError("recognition: needs an integer 'min_total'")
    known = {indicator.id for indicator in indicators}
    minimums = []
    for raw in rule.get("minimums") or []:
        ids = tuple(raw.get("indicators") or ())
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise CriteriaError(f"recognition: refers to unknown indicator {unknown[0]!r}")
        if not isinstance(raw.get("min"), int):
            raise CriteriaError("recognition: each minimum needs an integer 'min'")
        minimums.append(Minimum(ids, raw["min"]))
    criteria = CriteriaSet(
        data["id"],
        _localized(data.get("title"), "title"),
        competencies,
        tuple(sorted(indicators, key=lambda indicator: indicator.id)),
        rule["min_total"],
        tuple(minimums),
    )
    if criteria.min_total > criteria.max_total:
        raise CriteriaError(
            f"recognition: min_total {criteria.min_total} is above the maximum {criteria.max_total}"
        )
    return criteria


def load_criteria(set_id: str = DEFAULT_SET, directory: Path = CRITERIA_DIR) -> CriteriaSet:
    path = directory / f"{set_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CriteriaError(f"{path}: no such criteria file") from None
    except json.JSONDecodeError as exc:
        raise CriteriaError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        criteria = _parse(data)
    except CriteriaError as exc:
        raise CriteriaError(f"{path.name}: {exc}") from None
    if criteria.id != set_id:
        raise CriteriaError(f"{path.name}: its id {criteria.id!r} differs from the file name")
    return criteria

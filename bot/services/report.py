"""The campaign's figures per unit and for the province, beside the national targets.

Everything comes from a fixed handful of grouped queries (citizens by unit and target group;
declarations by unit, group and status; recognised holders of the digital indicator by unit),
whatever the number of citizens. They count only citizens who agreed to the optional
"statistics" purpose and have not withdrawn it (``bot.domain.consents.STATISTICS``; the
storage's statistical counts filter on it): the named lists and the per-citizen export, which
serve verification, still hold everyone. Targets are data (``data/targets.json``: QĐ
677/QĐ-TTg), the population they are measured against an operator's CSV
(``CDHT_POPULATION_CSV``). Units are listed in Vietnamese alphabetical order
(``collation_key``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.collation import collation_key
from bot.domain.consents import STATISTICS
from bot.domain.ports import UnitOfWork
from bot.domain.wards import WardDirectory
from bot.engine.types import t

__all__ = [
    "COUNT_COLUMNS",
    "DECIMAL",
    "Counts",
    "Population",
    "Report",
    "TargetRow",
    "Targets",
    "build_report",
    "collation_key",
    "percent",
    "render_table",
    "target_share",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
SUBMITTED = ("submitted", "returned", "recognised", "not_recognised")
# the columns of every count row, in order; labels are ``report.col.<name>`` in the catalogs
COUNT_COLUMNS = (
    "registered",
    "declaring",
    "submitted",
    "pending",
    "returned",
    "recognised",
    "not_recognised",
)


@dataclass(slots=True)
class Counts:
    registered: int = 0
    declaring: int = 0  # a draft of this year, not yet submitted
    submitted: int = 0  # submitted this year, whatever has happened since
    pending: int = 0  # waiting for a coordinator's review
    returned: int = 0  # sent back to the citizen for more
    recognised: int = 0
    not_recognised: int = 0

    def add(self, other: Counts) -> None:
        for name in COUNT_COLUMNS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def add_status(self, status: str, count: int) -> None:
        if status == "draft":
            self.declaring += count
        if status in SUBMITTED:
            self.submitted += count
        if status == "submitted":
            self.pending += count
        elif status == "returned":
            self.returned += count
        elif status == "recognised":
            self.recognised += count
        elif status == "not_recognised":
            self.not_recognised += count

    @property
    def share(self) -> float | None:
        """Recognised as a share of registered."""
        return self.recognised / self.registered if self.registered else None

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in COUNT_COLUMNS)


@dataclass(frozen=True, slots=True)
class Target:
    """One of QĐ 677's targets: ``shares`` by milestone year."""

    id: str
    shares: Mapping[int, float]
    population: str | None  # the population column it is measured against, None: recognised

    def milestone(self, year: int) -> tuple[int, float] | None:
        """The first milestone at or after ``year`` (the last one after the programme ends)."""
        ahead = sorted(y for y in self.shares if y >= year) or sorted(self.shares)[-1:]
        return (ahead[0], self.shares[ahead[0]]) if ahead else None


@dataclass(frozen=True, slots=True)
class Targets:
    source: str
    items: tuple[Target, ...]

    @classmethod
    def load(cls, path: Path = DATA_DIR / "targets.json") -> Targets:
        raw = json.loads(path.read_text("utf-8"))
        items = tuple(
            Target(
                item["id"],
                {int(year): float(share) for year, share in item["shares"].items()},
                item.get("population"),
            )
            for item in raw["targets"]
        )
        return cls(raw["source"], items)


class PopulationError(ValueError):
    """The population file is wrong; the message names the file, line and problem."""


@dataclass(frozen=True, slots=True)
class Population:
    """Counts per unit from an operator's CSV: ``code`` and one column per population
    (``adults``, ``staff``); empty cells are unknown."""

    by_unit: Mapping[str, Mapping[str, int]]
    source: str

    @classmethod
    def from_csv(cls, path: Path) -> Population:
        text = path.read_text("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or "code" not in reader.fieldnames:
            raise PopulationError(f"{path.name}: the first line must name a 'code' column")
        by_unit: dict[str, dict[str, int]] = {}
        for line, row in enumerate(reader, start=2):
            code = (row.get("code") or "").strip()
            if not code:
                continue
            values: dict[str, int] = {}
            for column, raw in row.items():
                if column in (None, "code") or not (raw or "").strip():
                    continue
                cleaned = str(raw).strip().replace(".", "").replace(",", "").replace(" ", "")
                if not cleaned.isdigit():
                    raise PopulationError(f"{path.name}:{line}: {column} is not a number")
                values[str(column)] = int(cleaned)
            by_unit[code] = values
        return cls(by_unit, path.name)

    def total(self, column: str, units: Iterable[str]) -> int | None:
        """The sum over ``units``; None when any of them lacks the figure."""
        found = 0
        for unit in units:
            value = self.by_unit.get(unit, {}).get(column)
            if value is None:
                return None
            found += value
        return found


@dataclass(frozen=True, slots=True)
class TargetRow:
    id: str
    milestone_year: int
    share: float  # the target, 0.4 for 40%
    achieved: int  # title holders counted towards it
    base: int | None  # what the share is of; None: unknown (``missing`` says why)
    missing: str | None = None  # the population column that was not configured

    @property
    def achieved_share(self) -> float | None:
        return self.achieved / self.base if self.base else None

    @property
    def needed(self) -> int | None:
        return math.ceil(self.share * self.base) if self.base is not None else None


@dataclass(slots=True)
class Unit:
    code: str
    name: str
    counts: Counts = field(default_factory=Counts)
    digital: int = 0  # recognised, and at least the digital indicator's bar on it


@dataclass(slots=True)
class Report:
    year: int
    units: list[Unit]
    province: Counts
    by_group: dict[int, Counts]
    targets: list[TargetRow]
    scope_all: bool  # the whole province (an admin), or some units (a coordinator)
    area: str = ""  # the province's name, or the units' names in Vietnamese order
    purpose: str | None = STATISTICS  # only citizens who agreed to this purpose are counted


DIGITAL_INDICATOR = 5  # DOMAIN.md: indicator 5 is the digital one ("Công dân số")
DIGITAL_MIN_SCORE = 5  # the recognition rule's floor for any indicator


async def build_report(
    uow: UnitOfWork,
    wards: WardDirectory,
    year: int,
    scope: Collection[str] | None,
    targets: Targets,
    population: Population | None,
) -> Report:
    """The report of ``year`` for the units in ``scope`` (None: every unit of the province).
    Three grouped queries; every unit in scope has a row, with zeros where nobody registered.
    The repositories' statistical counts (``counts_by_unit``, ``recognised_with``) hold only
    citizens with an active consent to the statistics purpose (``Report.purpose``)."""
    codes = sorted(scope) if scope is not None else [ward.code for ward in wards.all()]
    units = {code: Unit(code, _unit_name(wards, code)) for code in codes}
    by_group: dict[int, Counts] = {}
    for code, group, count in await uow.citizens.counts_by_unit(scope):
        unit = units.setdefault(code, Unit(code, _unit_name(wards, code)))
        unit.counts.registered += count
        by_group.setdefault(group, Counts()).registered += count
    for code, group, status, count in await uow.declarations.counts_by_unit(year, scope):
        unit = units.setdefault(code, Unit(code, _unit_name(wards, code)))
        unit.counts.add_status(status, count)
        by_group.setdefault(group, Counts()).add_status(status, count)
    digital = await uow.declarations.recognised_with(
        year, scope, DIGITAL_INDICATOR, DIGITAL_MIN_SCORE
    )
    for code, count in digital.items():
        units.setdefault(code, Unit(code, _unit_name(wards, code))).digital = count
    province = Counts()
    for unit in units.values():
        province.add(unit.counts)
    ordered = sorted(units.values(), key=lambda unit: collation_key(unit.name))
    rows = _target_rows(year, ordered, province, by_group, targets, population)
    area = wards.province_name if scope is None else ", ".join(unit.name for unit in ordered)
    by_number = dict(sorted(by_group.items()))
    return Report(year, ordered, province, by_number, rows, scope is None, area, STATISTICS)


def _unit_name(wards: WardDirectory, code: str) -> str:
    """The unit's name as the list has it ("Phường Lê Chân"); a code no longer listed as is."""
    return wards.name_of(code)


def _target_rows(
    year: int,
    units: Sequence[Unit],
    province: Counts,
    by_group: Mapping[int, Counts],
    targets: Targets,
    population: Population | None,
) -> list[TargetRow]:
    codes = [unit.code for unit in units]
    rows = []
    for target in targets.items:
        milestone = target.milestone(year)
        if milestone is None:
            continue
        if target.population is None:  # a share of the title holders themselves
            achieved = sum(unit.digital for unit in units)
            rows.append(TargetRow(target.id, *milestone, achieved, province.recognised))
            continue
        achieved = (
            by_group.get(3, Counts()).recognised if target.population == "staff" else
            province.recognised
        )  # fmt: skip
        base = population.total(target.population, codes) if population else None
        missing = None if base is not None else target.population
        rows.append(TargetRow(target.id, *milestone, achieved, base, missing))
    return rows


# -- the aligned table in a terminal ---------------------------------------------------------


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: combining marks take none (NFC is usual)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


# the decimal separator of a language: «33,3%» in Vietnamese, "33.3%" in English
DECIMAL = t("number.decimal")


def percent(value: float | None, decimal: str = ".") -> str:
    """0.333 as "33.3%" (``decimal`` ",": "33,3%"); a share under 1% keeps enough digits not to
    read as nothing."""
    if value is None:
        return "—"
    shown = f"{value * 100:.3f}%" if 0 < value < 0.01 else f"{value * 100:.1f}%"
    return shown.replace(".", decimal)


def target_share(share: float, decimal: str = ".") -> str:
    """A target as written in the decision: "60%", not "60.0%"."""
    return percent(share, decimal).replace(f"{decimal}0%", "%")


def render_table(report: Report, say: Callable[..., str]) -> str:
    """The report as aligned columns: units, the province's total, target groups, targets.
    ``say(key, **params)`` translates (``report.*`` keys)."""
    decimal = say(DECIMAL.key)
    header = [say("report.col.unit"), *(say(f"report.col.{c}") for c in COUNT_COLUMNS)]
    header.append(say("report.col.share"))
    body = [
        [unit.name, *map(str, unit.counts.values()), percent(unit.counts.share, decimal)]
        for unit in report.units
    ]
    total_label = say("report.total.province" if report.scope_all else "report.total.scope")
    total = [
        total_label,
        *map(str, report.province.values()),
        percent(report.province.share, decimal),
    ]
    groups = [
        [say(f"group.{group}"), *map(str, counts.values()), percent(counts.share, decimal)]
        for group, counts in report.by_group.items()
    ]
    lines = [say("report.title", year=report.year)]
    if report.purpose is not None:
        lines.append(say("report.coverage"))
    lines.append("")
    lines += _aligned([header, *body, None, total])
    if groups:
        lines += ["", say("report.by_group")]
        lines += _aligned([[say("report.col.group"), *header[1:]], *groups])
    if report.targets:
        lines += ["", say("report.targets")]
        rows: list[list[str] | None] = [
            [
                say("report.col.target"),
                say("report.col.milestone"),
                say("report.col.achieved"),
                say("report.col.needed"),
            ]
        ]
        for row in report.targets:
            rows.append(
                [
                    say(f"report.target.{row.id}"),
                    say(
                        "report.milestone",
                        share=target_share(row.share, decimal),
                        year=row.milestone_year,
                    ),
                    f"{row.achieved} ({percent(row.achieved_share, decimal)})",
                    say("report.missing", column=row.missing)
                    if row.missing
                    else str(row.needed if row.needed is not None else "—"),
                ]
            )
        lines += _aligned(rows)
    return "\n".join(lines) + "\n"


def _aligned(rows: Sequence[Sequence[str] | None]) -> list[str]:
    present = [row for row in rows if row is not None]
    widths = [max(_width(row[i]) for row in present) for i in range(len(present[0]))]
    out = []
    for row in rows:
        if row is None:
            out.append("  ".join("-" * w for w in widths))
            continue
        cells = [_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return out


def as_dict(report: Report) -> dict[str, Any]:
    """For JSON and tests."""
    return {
        "year": report.year,
        "units": {
            unit.code: dict(zip(COUNT_COLUMNS, unit.counts.values(), strict=True))
            for unit in report.units
        },
        "province": dict(zip(COUNT_COLUMNS, report.province.values(), strict=True)),
        "by_group": {
            group: dict(zip(COUNT_COLUMNS, counts.values(), strict=True))
            for group, counts in report.by_group.items()
        },
    }

"""Excel files a ward office can use: the export, the report and the ward's lists.

Written with xlsxwriter in its constant-memory mode (each row goes to a temporary file as it is
written, https://xlsxwriter.readthedocs.io/working_with_memory.html), so the export of the
whole province streams. Every text goes in with ``write_string`` and the workbook is opened
with ``strings_to_formulas`` off: a name or a note that begins with "=" stays text, never a
live formula (OWASP, "CSV Injection"). Headers and values are words in the reader's language
("Nữ", "Đạt", "Phường Lê Chân"), times in Asia/Ho_Chi_Minh to the minute, phone numbers as text
in the national format so that Excel keeps the leading zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from bot.engine import Text, t
from bot.services.report import COUNT_COLUMNS, Report, target_share
from bot.services.validation import national_phone
from bot.services.wards import WardDirectory

__all__ = [
    "EXPORT_COLUMNS",
    "Column",
    "export_workbook",
    "list_workbook",
    "report_workbook",
    "text_rows",
]

Say = Callable[..., str]  # translate(locale, key, **params)
Target = str | Path | IO[bytes]
_VN = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving in Viet Nam
DATE_FORMAT = "dd/mm/yyyy hh:mm"


@dataclass(frozen=True, slots=True)
class Column:
    field: str  # the export record's field, or "score_N" / "verified_N"
    header: Text
    width: int
    kind: str = "text"  # text, int, time, phone, gender, group, status, result, decision, ward


EXPORT_COLUMNS = (
    Column("id", t("xlsx.col.id"), 8, "int"),
    Column("full_name", t("xlsx.col.full_name"), 26),
    Column("birth_year", t("xlsx.col.birth_year"), 9, "int"),
    Column("gender", t("xlsx.col.gender"), 9, "gender"),
    Column("phone", t("xlsx.col.phone"), 15, "phone"),
    Column("group", t("xlsx.col.group"), 28, "group"),
    Column("ward_code", t("xlsx.col.ward"), 24, "ward"),
    Column("residential_group", t("xlsx.col.residential_group"), 18),
    Column("workplace", t("xlsx.col.workplace"), 22),
    Column("channel", t("xlsx.col.channel"), 10),
    Column("registered_at", t("xlsx.col.registered_at"), 17, "time"),
    Column("year", t("xlsx.col.year"), 8, "int"),
    Column("declaration_status", t("xlsx.col.status"), 20, "status"),
    Column("submitted_at", t("xlsx.col.submitted_at"), 17, "time"),
    Column("total", t("xlsx.col.total"), 10, "int"),
    Column("provisional_result", t("xlsx.col.provisional_result"), 16, "result"),
    Column("verified_total", t("xlsx.col.verified_total"), 10, "int"),
    Column("decision", t("xlsx.col.decision"), 14, "decision"),
    Column("decided_by_name", t("xlsx.col.decided_by"), 26),
    Column("decided_at", t("xlsx.col.decided_at"), 17, "time"),
    Column("decision_reason", t("xlsx.col.decision_reason"), 30),
    Column("evidence_count", t("xlsx.col.evidence_count"), 10, "int"),
)
# values shown as words: the catalogs' keys (listed here so that `make messages` keeps them)
WORDS: Mapping[str, Mapping[str, Text]] = {
    "gender": {
        "female": t("gender.female"),
        "male": t("gender.male"),
        "other": t("gender.other"),
    },
    "group": {str(n): t(f"group.{n}") for n in (1, 2, 3, 4)},
    "status": {
        "draft": t("xlsx.status.draft"),
        "submitted": t("xlsx.status.submitted"),
        "returned": t("xlsx.status.returned"),
        "recognised": t("xlsx.status.recognised"),
        "not_recognised": t("xlsx.status.not_recognised"),
    },
    "result": {
        "recognised": t("xlsx.result.recognised"),
        "not_recognised": t("xlsx.result.not_recognised"),
        "incomplete": t("xlsx.result.incomplete"),
    },
    "decision": {
        "approved": t("xlsx.decision.approved"),
        "rejected": t("xlsx.decision.rejected"),
    },
}
# the rest of the report's and the files' texts (used through ``say``), for `make messages`
REPORT_TEXTS = (
    t("report.title"), t("report.by_group"), t("report.targets"), t("report.milestone"),
    t("report.missing"), t("report.total.province"), t("report.total.scope"),
    t("report.col.unit"), t("report.col.share"), t("report.col.group"), t("report.col.target"),
    t("report.col.milestone"), t("report.col.achieved"), t("report.col.achieved_share"),
    t("report.col.needed"), t("xlsx.sheet.citizens"), t("xlsx.sheet.units"),
    t("xlsx.sheet.groups"), t("xlsx.sheet.targets"),
)  # fmt: skip
COUNT_HEADERS = {
    "registered": t("report.col.registered"),
    "declaring": t("report.col.declaring"),
    "submitted": t("report.col.submitted"),
    "pending": t("report.col.pending"),
    "returned": t("report.col.returned"),
    "recognised": t("report.col.recognised"),
    "not_recognised": t("report.col.not_recognised"),
}


def local_time(value: object) -> datetime | None:
    """An aware datetime or ISO text as Viet Nam's wall clock, to the minute, for Excel."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(_VN).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


class _Sheet:
    """A worksheet written row after row, with the workbook's formats."""

    def __init__(self, book: Any, name: str, formats: Mapping[str, Any]) -> None:
        self.sheet = book.add_worksheet(name[:31])
        self.formats = formats
        self.row = 0

    def header(self, titles: Sequence[str], widths: Sequence[int], freeze_columns: int) -> None:
        for col, (title, width) in enumerate(zip(titles, widths, strict=True)):
            self.sheet.set_column(col, col, width)
            self.sheet.write_string(0, col, title, self.formats["header"])
        self.sheet.freeze_panes(1, freeze_columns)
        self.row = 1

    def put(self, values: Sequence[object], bold: bool = False) -> None:
        for col, value in enumerate(values):
            self.cell(col, value, bold)
        self.row += 1

    def cell(self, col: int, value: object, bold: bool = False) -> None:
        row, sheet = self.row, self.sheet
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, self.formats["bold"] if bold else None)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value, self.formats["time"])
        else:
            sheet.write_string(row, col, str(value), self.formats["bold"] if bold else None)

    def finish(self, columns: int) -> None:
        if self.row > 1:
            self.sheet.autofilter(0, 0, self.row - 1, columns - 1)


def _workbook(target: Target) -> tuple[Any, dict[str, Any]]:
    book = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "default_date_format": DATE_FORMAT,
            "in_memory": False,
        },
    )
    formats = {
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True}),
        "time": book.add_format({"num_format": DATE_FORMAT}),
        "bold": book.add_format({"bold": True}),
        "percent": book.add_format({"num_format": "0.0%"}),
    }
    return book, formats


async def export_workbook(
    target: Target,
    records: AsyncIterable[Sequence[Mapping[str, Any]]],
    report: Report | None,
    indicators: Sequence[int],
    wards: WardDirectory,
    say: Say,
    locale: str,
) -> int:
    """The export: a row per citizen and declaration, then a sheet of counts per unit.
    ``records`` come in pages (see ``bot.services.export.record_pages``); returns the rows."""
    book, formats = _workbook(target)
    sheet = _Sheet(book, say(locale, "xlsx.sheet.citizens"), formats)
    columns = list(EXPORT_COLUMNS)
    at = next(i for i, c in enumerate(columns) if c.field == "total")
    columns[at:at] = [
        Column(f"score_{i}", t("xlsx.col.score", indicator=i), 7, "int") for i in indicators
    ]
    at = next(i for i, c in enumerate(columns) if c.field == "verified_total")
    columns[at:at] = [
        Column(f"verified_{i}", t("xlsx.col.verified", indicator=i), 7, "int") for i in indicators
    ]
    sheet.header(
        [say(locale, c.header.key, **c.header.params) for c in columns],
        [c.width for c in columns],
        freeze_columns=2,
    )
    words = {kind: {k: say(locale, v.key) for k, v in m.items()} for kind, m in WORDS.items()}
    count = 0
    async for page in records:
        for record in page:
            sheet.put([_value(c, record, words, wards) for c in columns])
            count += 1
    sheet.finish(len(columns))
    if report is not None:
        _counts_sheet(book, formats, report, say, locale)
    book.close()
    return count


def _value(
    column: Column,
    record: Mapping[str, Any],
    words: Mapping[str, Mapping[str, str]],
    wards: WardDirectory,
) -> object:
    if column.field.startswith(("score_", "verified_")):
        kind, _, number = column.field.partition("_")
        found = record.get("scores" if kind == "score" else "verified_scores") or {}
        return found.get(number)
    value = record.get(column.field)
    if value is None or value == "":
        return None
    if column.kind == "time":
        return local_time(value)
    if column.kind == "phone":
        return national_phone(str(value))
    if column.kind == "ward":
        return wards.name_of(str(value), record.get("ward_name"))
    if column.kind in words:
        return words[column.kind].get(str(value), str(value))
    return value


def _counts_sheet(
    book: Any, formats: Mapping[str, Any], report: Report, say: Say, locale: str
) -> None:
    sheet = _Sheet(book, say(locale, "xlsx.sheet.units"), formats)
    titles = [say(locale, "report.col.unit")]
    titles += [say(locale, COUNT_HEADERS[c].key) for c in COUNT_COLUMNS]
    titles.append(say(locale, "report.col.share"))
    sheet.header(titles, [26, *[11] * len(COUNT_COLUMNS), 12], freeze_columns=1)
    for unit in report.units:
        sheet.put([unit.name, *unit.counts.values()])
        _share(sheet, len(COUNT_COLUMNS) + 1, unit.counts.share, formats)
    total = say(locale, "report.total.province" if report.scope_all else "report.total.scope")
    sheet.put([total, *report.province.values()], bold=True)
    _share(sheet, len(COUNT_COLUMNS) + 1, report.province.share, formats)
    sheet.finish(len(titles))


def _share(sheet: _Sheet, col: int, share: float | None, formats: Mapping[str, Any]) -> None:
    """The share in the row just written (as a number formatted 0.0%, not text)."""
    if share is not None:
        sheet.sheet.write_number(sheet.row - 1, col, share, formats["percent"])


def report_workbook(target: Target, report: Report, say: Say, locale: str) -> None:
    """The report: units and the total, target groups, and the targets of QĐ 677."""
    book, formats = _workbook(target)
    _counts_sheet(book, formats, report, say, locale)
    groups = _Sheet(book, say(locale, "xlsx.sheet.groups"), formats)
    titles = [say(locale, "report.col.group")]
    titles += [say(locale, COUNT_HEADERS[c].key) for c in COUNT_COLUMNS]
    titles.append(say(locale, "report.col.share"))
    groups.header(titles, [30, *[11] * len(COUNT_COLUMNS), 12], freeze_columns=1)
    for group, counts in report.by_group.items():
        groups.put([say(locale, f"group.{group}"), *counts.values()])
        _share(groups, len(COUNT_COLUMNS) + 1, counts.share, formats)
    groups.finish(len(titles))
    targets = _Sheet(book, say(locale, "xlsx.sheet.targets"), formats)
    targets.header(
        [
            say(locale, "report.col.target"),
            say(locale, "report.col.milestone"),
            say(locale, "report.col.achieved"),
            say(locale, "report.col.achieved_share"),
            say(locale, "report.col.needed"),
        ],
        [44, 20, 12, 12, 30],
        freeze_columns=1,
    )
    for row in report.targets:
        share = target_share(row.share)
        targets.put(
            [
                say(locale, f"report.target.{row.id}"),
                say(locale, "report.milestone", share=share, year=row.milestone_year),
                row.achieved,
                None,
                say(locale, "report.missing", column=row.missing) if row.missing else row.needed,
            ]
        )
        _share(targets, 3, row.achieved_share, formats)
    targets.finish(5)
    book.close()


def list_workbook(
    target: Target,
    title: str,
    headers: Sequence[str],
    widths: Sequence[int],
    rows: Iterable[Sequence[object]],
) -> int:
    """One of a ward office's lists, one sheet; returns the rows written."""
    book, formats = _workbook(target)
    sheet = _Sheet(book, title, formats)
    sheet.header(headers, widths, freeze_columns=2)
    count = 0
    for row in rows:
        sheet.put(row)
        count += 1
    sheet.finish(len(headers))
    book.close()
    return count


def text_rows(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A list as tab-separated lines (times as dd/mm/yyyy hh:mm), for a terminal or a pipe."""

    def shown(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.strftime("%d/%m/%Y %H:%M")
        return str(value).replace("\t", " ").replace("\n", " ")

    lines = ["\t".join(headers)]
    lines += ["\t".join(shown(value) for value in row) for row in rows]
    return "\n".join(lines) + "\n"

"""Excel files a ward office can use: the export, the report and the ward's lists.

Written with xlsxwriter in its constant-memory mode (each row goes to a temporary file as it is
written, https://xlsxwriter.readthedocs.io/working_with_memory.html), so the export of the
whole province streams. Every text goes in with ``write_string`` and the workbook is opened
with ``strings_to_formulas`` off: a name or a note that begins with "=" stays text, never a
live formula (OWASP, "CSV Injection"). Headers and values are words in the reader's language
("Nữ", "Đạt", "Phường Lê Chân", "Telegram"), times in Asia/Ho_Chi_Minh to the minute, phone
numbers as text in the national format so that Excel keeps the leading zero; the machine
values stay in the JSON and CSV exports (``bot.services.export``).

Every sheet prints on A4 landscape, one page wide, with the table's header row repeated on
each page (https://xlsxwriter.readthedocs.io/page_setup.html: ``set_paper(9)``,
``fit_to_pages(1, 0)``, ``repeat_rows``). The ward office's lists and the report carry a title,
the unit and the date above the table; a list ends with a place and date line and two signature
blocks. The export keeps its table at A1 (filters, sorting, reading by header) and prints its
title in the page header.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from bot.domain.calendar import local_time as vn_time
from bot.domain.records import Broadcast
from bot.domain.usecases.texts import OTHER_CHANNEL
from bot.domain.validation import national_phone
from bot.domain.wards import WardDirectory
from bot.engine import Text, t
from bot.services.analytics import Analytics
from bot.services.report import COUNT_COLUMNS, DECIMAL, Report, collation_key, target_share

__all__ = [
    "EXPORT_COLUMNS",
    "Column",
    "channel_word",
    "decision_word",
    "export_workbook",
    "list_workbook",
    "report_workbook",
    "text_rows",
    "unit_label",
]

Say = Callable[..., str]  # translate(locale, key, **params)
Target = str | Path | IO[bytes]
DATE_FORMAT = "dd/mm/yyyy hh:mm"


@dataclass(frozen=True, slots=True)
class Column:
    field: str  # the export record's field, or "score_N" / "verified_N"
    header: Text
    width: int
    # text, int, time, phone, gender, group, status, result, decision, ward, channel, staff
    kind: str = "text"


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
    Column("channel", t("xlsx.col.channel"), 12, "channel"),
    Column("registered_at", t("xlsx.col.registered_at"), 17, "time"),
    Column("year", t("xlsx.col.year"), 8, "int"),
    Column("declaration_status", t("xlsx.col.status"), 20, "status"),
    Column("submitted_at", t("xlsx.col.submitted_at"), 17, "time"),
    Column("total", t("xlsx.col.total"), 10, "int"),
    Column("provisional_result", t("xlsx.col.provisional_result"), 16, "result"),
    Column("verified_total", t("xlsx.col.verified_total"), 10, "int"),
    Column("decision", t("xlsx.col.decision"), 18, "decision"),
    Column("decided_by_name", t("xlsx.col.decided_by"), 26, "staff"),
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
    # what a coordinator recorded, from the decision and the status together (decision_word)
    "decision": {
        "recognised": t("xlsx.decision.recognised"),
        "not_recognised": t("xlsx.decision.not_recognised"),
        "rejected": t("xlsx.decision.rejected"),
        "returned": t("xlsx.decision.returned"),
    },
}
# the rest of the report's and the files' texts (used through ``say``), for `make messages`
REPORT_TEXTS = (
    t("report.title"), t("report.by_group"), t("report.targets"), t("report.milestone"),
    t("report.missing"), t("report.total.province"), t("report.total.scope"),
    t("report.col.unit"), t("report.col.share"), t("report.col.group"), t("report.col.target"),
    t("report.col.milestone"), t("report.col.achieved"), t("report.col.achieved_share"),
    t("report.col.needed"), t("xlsx.sheet.citizens"), t("xlsx.sheet.units"),
    t("xlsx.sheet.groups"), t("xlsx.sheet.targets"), t("report.coverage"), t("xlsx.unit"),
    t("xlsx.made"), t("xlsx.footer"), t("xlsx.export.title"), t("xlsx.missing"),
    t("xlsx.staff.unnamed"), t("list.sign.preparer"), t("list.sign.confirmer"),
    t("list.sign.hint"), t("list.sign.name"), t("list.sign.place_date"), t("list.unit.several"),
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


def channel_word(name: str, words: Callable[[str], str]) -> str:
    """A channel as a list shows it: its name in words (the catalog's ``channel.<name>``,
    which the channel's description declares), capitalised as a cell begins («Kênh chạy thử
    trên máy»); a name no channel has (the catalog gives the key back), as it is.
    ``words(key)`` translates a catalog key in the list's language."""
    word = words(f"channel.{name}")
    if not word or word == words(OTHER_CHANNEL.key):  # no channel has it: «other» for it
        return name
    return word[:1].upper() + word[1:]


def decision_word(decision: object, status: object) -> str | None:
    """What was recorded, as one word for the decision column, from the export's ``decision``
    and ``declaration_status`` together: an approval records the result its scores give
    (bot/flows/decisions.py ``approve``: «recognised» or «not_recognised»), a rejection
    «not_recognised», a return «returned» with no decision. None: nothing decided yet (or a
    pair no use case records, where any word could contradict the status)."""
    if decision == "approved" and status in ("recognised", "not_recognised"):
        return str(status)
    if decision == "rejected" and status == "not_recognised":
        return "rejected"
    if decision is None and status == "returned":
        return "returned"
    return None


def unit_label(wards: WardDirectory, codes: Iterable[str] | None) -> str:
    """The unit a file covers: the province's name (None: all units), else the units' names
    in Vietnamese order."""
    if codes is None:
        return wards.province_name
    return ", ".join(sorted({wards.name_of(code) for code in codes}, key=collation_key))


def _default_say() -> Say:
    """The catalogs, for callers that pass no translator (their texts are Vietnamese)."""
    from bot.i18n import Translator

    return Translator("vi")


def local_time(value: object) -> datetime | None:
    """An aware datetime or ISO text as Viet Nam's wall clock, to the minute, for Excel."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = vn_time(moment).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


class _Sheet:
    """A worksheet written row after row (constant-memory mode: never back to a row written),
    with the workbook's formats: lines above the table, its header, its rows."""

    def __init__(
        self, book: Any, name: str, formats: Mapping[str, Any], ruled: bool = True
    ) -> None:
        """``ruled``: the table's cells get borders, as a printed form has (the export, a
        data file of many rows, has none)."""
        self.sheet = book.add_worksheet(name[:31])
        self.formats = formats
        self.ruled = ruled
        self.row = 0
        self.header_row = 0

    def line(self, text: str, columns: int, style: str = "line", height: float = 0) -> None:
        """One line across the table's width (merged cells), e.g. a title."""
        if height:
            self.sheet.set_row(self.row, height)
        if columns > 1:
            self.sheet.merge_range(self.row, 0, self.row, columns - 1, text, self.formats[style])
        else:
            self.sheet.write_string(self.row, 0, text, self.formats[style])
        self.row += 1

    def heading(self, title: str, lines: Sequence[str], columns: int) -> None:
        """A title (capitals, as on an official list), the lines under it, then a blank row."""
        self.line(title.upper(), columns, "title", height=36)
        for text in lines:
            self.line(text, columns)
        self.row += 1

    def header(self, titles: Sequence[str], widths: Sequence[int], freeze_columns: int) -> None:
        for col, (title, width) in enumerate(zip(titles, widths, strict=True)):
            self.sheet.set_column(col, col, width)
            self.sheet.write_string(self.row, col, title, self.style("header"))
        self.header_row = self.row
        self.sheet.freeze_panes(self.row + 1, freeze_columns)
        self.sheet.repeat_rows(self.row)  # the header on every printed page
        self.row += 1

    def put(self, values: Sequence[object], bold: bool = False) -> None:
        for col, value in enumerate(values):
            self.cell(col, value, bold)
        self.row += 1

    def style(self, name: str | None) -> Any:
        """A format of the workbook's, its ruled variant in a ruled table."""
        if self.ruled:
            return self.formats["ruled_" + (name or "cell")]
        return self.formats[name] if name else None

    def cell(self, col: int, value: object, bold: bool = False) -> None:
        row, sheet = self.row, self.sheet
        style = self.style("bold" if bold else None)
        if value is None:
            if self.ruled:
                sheet.write_blank(row, col, None, style)
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value, style)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, style)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value, self.style("time"))
        else:
            sheet.write_string(row, col, str(value), style)

    def finish(self, columns: int, footer: str) -> None:
        """Filters over the table, and the print settings."""
        if self.row > self.header_row + 1:
            self.sheet.autofilter(self.header_row, 0, self.row - 1, columns - 1)
        _print_setup(self.sheet, footer)

    def signatures(
        self, columns: int, place_date: str, blocks: Sequence[tuple[str, str, str]]
    ) -> None:
        """After the table: the place and date over the right-hand block, then the blocks
        (title, hint, name line) side by side, with room to sign above the name line."""
        half = max(columns // 2, 1)
        spans = ((0, half - 1), (half, max(columns - 1, half)))
        self.row += 1
        self._side(spans[1], place_date, "place")
        self.row += 1
        for part, style in ((0, "sign"), (1, "hint"), (2, "line")):
            if part == 2:
                self.row += 3  # room for the signature
            for span, block in zip(spans, blocks, strict=True):
                self._side(span, block[part], style)
            self.row += 1

    def _side(self, span: tuple[int, int], text: str, style: str) -> None:
        first, last = span
        if last > first:
            self.sheet.merge_range(self.row, first, self.row, last, text, self.formats[style])
        else:
            self.sheet.write_string(self.row, first, text, self.formats[style])


def _print_setup(sheet: Any, footer: str) -> None:
    """A4 landscape, one page wide and as many tall as the rows need, centred, numbered."""
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.center_horizontally()
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.set_footer("&C" + footer)  # "&P", "&N": this page's number, the pages


def _header_text(text: str) -> str:
    """Text for a page header: "&" is its control character (written "&&"); 255 at most."""
    escaped = text.replace("&", "&&")
    return escaped if len(escaped) <= 240 else escaped[:239] + "…"


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
    centred = {"align": "center", "valign": "vcenter", "text_wrap": True}
    plain: dict[str, dict[str, Any]] = {
        "header": {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top"},
        "time": {"num_format": DATE_FORMAT},
        "bold": {"bold": True},
        "percent": {"num_format": "0.0%"},
        "cell": {},
    }
    formats = {
        **{name: book.add_format(spec) for name, spec in plain.items()},
        **{f"ruled_{name}": book.add_format({**spec, "border": 1}) for name, spec in plain.items()},
        "title": book.add_format({**centred, "bold": True, "font_size": 14}),
        "line": book.add_format(centred),
        "place": book.add_format({**centred, "italic": True}),
        "sign": book.add_format({**centred, "bold": True}),
        "hint": book.add_format({**centred, "italic": True}),
    }
    return book, formats


def _made(say: Say, locale: str, made_at: datetime | None) -> str:
    moment = vn_time(made_at or datetime.now(UTC))
    return say(locale, "xlsx.made", date=f"{moment:%d/%m/%Y}")


async def export_workbook(
    target: Target,
    records: AsyncIterable[Sequence[Mapping[str, Any]]],
    report: Report | None,
    indicators: Sequence[int],
    wards: WardDirectory,
    say: Say,
    locale: str,
    *,
    made_at: datetime | None = None,
) -> int:
    """The export: a row per citizen and declaration, then a sheet of counts per unit (the
    report's, so counting only those who agreed to statistics; it says so). ``records`` come
    in pages (see ``bot.services.export.record_pages``); returns the rows."""
    book, formats = _workbook(target)
    sheet = _Sheet(book, say(locale, "xlsx.sheet.citizens"), formats, ruled=False)
    area = report.area if report is not None and report.area else wards.province_name
    made = _made(say, locale, made_at)
    title = say(locale, "xlsx.export.title", area=area, made=made)
    sheet.sheet.set_header("&C&B" + _header_text(title))
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
    words = {
        kind: {k: say(locale, v.key) for k, v in m.items()}
        for kind, m in WORDS.items()
        if kind != "channel"
    }
    count = 0
    async for page in records:
        for record in page:
            sheet.put([_value(c, record, words, wards, say, locale) for c in columns])
            count += 1
    footer = say(locale, "xlsx.footer")
    sheet.finish(len(columns), footer)
    if report is not None:
        _counts_sheet(book, formats, report, say, locale, made)
    book.close()
    return count


def _value(
    column: Column,
    record: Mapping[str, Any],
    words: Mapping[str, Mapping[str, str]],
    wards: WardDirectory,
    say: Say,
    locale: str,
) -> object:
    kind, _, number = column.field.partition("_")
    if kind in ("score", "verified") and number.isdigit():  # an indicator's, not the total
        found = record.get("scores" if kind == "score" else "verified_scores") or {}
        return found.get(number)
    if column.kind == "decision":
        word = decision_word(record.get("decision"), record.get("declaration_status"))
        return None if word is None else words["decision"][word]
    if column.kind == "staff":
        return _staff(record, say, locale)
    value = record.get(column.field)
    if value is None or value == "":
        return None
    if column.kind == "channel":
        return channel_word(str(value), partial(say, locale))
    if column.kind == "time":
        return local_time(value)
    if column.kind == "phone":
        return national_phone(str(value))
    if column.kind == "ward":
        return wards.name_of(str(value), record.get("ward_name"))
    if column.kind in words:
        return words[column.kind].get(str(value), str(value))
    return value


def _staff(record: Mapping[str, Any], say: Say, locale: str) -> str | None:
    """The deciding coordinator by the name they gave; one who gave none by their channel in
    words («Chưa ghi tên (Telegram)»), never the ``telegram:123`` token nor the account id."""
    account = record.get("decided_by")
    name = record.get("decided_by_name")
    if name and name != account:
        return str(name)
    if not account:
        return None
    channel = channel_word(str(account).partition(":")[0], partial(say, locale))
    return say(locale, "xlsx.staff.unnamed", account=channel)


def _report_heading(report: Report, say: Say, locale: str, made: str) -> list[str]:
    lines = [say(locale, "xlsx.unit", unit=report.area)] if report.area else []
    lines.append(made)
    if report.purpose is not None:
        lines.append(say(locale, "report.coverage"))
    return lines


def _counts_sheet(
    book: Any, formats: Mapping[str, Any], report: Report, say: Say, locale: str, made: str
) -> None:
    sheet = _Sheet(book, say(locale, "xlsx.sheet.units"), formats)
    titles = [say(locale, "report.col.unit")]
    titles += [say(locale, COUNT_HEADERS[c].key) for c in COUNT_COLUMNS]
    titles.append(say(locale, "report.col.share"))
    heading = say(locale, "report.title", year=report.year)
    sheet.heading(heading, _report_heading(report, say, locale, made), len(titles))
    sheet.header(titles, [26, *[11] * len(COUNT_COLUMNS), 12], freeze_columns=1)
    for unit in report.units:
        sheet.put([unit.name, *unit.counts.values()])
        _share(sheet, len(COUNT_COLUMNS) + 1, unit.counts.share)
    total = say(locale, "report.total.province" if report.scope_all else "report.total.scope")
    sheet.put([total, *report.province.values()], bold=True)
    _share(sheet, len(COUNT_COLUMNS) + 1, report.province.share)
    sheet.finish(len(titles), say(locale, "xlsx.footer"))


def _share(sheet: _Sheet, col: int, share: float | None) -> None:
    """The share in the row just written (as a number formatted 0.0%, not text)."""
    if share is not None:
        sheet.sheet.write_number(sheet.row - 1, col, share, sheet.style("percent"))
    elif sheet.ruled:
        sheet.sheet.write_blank(sheet.row - 1, col, None, sheet.style("percent"))


def report_workbook(
    target: Target,
    report: Report,
    say: Say,
    locale: str,
    *,
    made_at: datetime | None = None,
    analytics: Analytics | None = None,
    reviewers: Mapping[str, str] | None = None,
    wards: WardDirectory | None = None,
) -> None:
    """The report: units and the total, target groups, and the targets of QĐ 677; each sheet
    under the report's title, unit, date and what the figures cover; with ``analytics``, the
    reviewers' sheet (``reviewers``: how each account is named; ``wards``: the units' names)."""
    book, formats = _workbook(target)
    made = _made(say, locale, made_at)
    heading = say(locale, "report.title", year=report.year)
    lines = _report_heading(report, say, locale, made)
    footer = say(locale, "xlsx.footer")
    _counts_sheet(book, formats, report, say, locale, made)
    groups = _Sheet(book, say(locale, "xlsx.sheet.groups"), formats)
    titles = [say(locale, "report.col.group")]
    titles += [say(locale, COUNT_HEADERS[c].key) for c in COUNT_COLUMNS]
    titles.append(say(locale, "report.col.share"))
    groups.heading(heading, lines, len(titles))
    groups.header(titles, [30, *[11] * len(COUNT_COLUMNS), 12], freeze_columns=1)
    for group, counts in report.by_group.items():
        groups.put([say(locale, f"group.{group}"), *counts.values()])
        _share(groups, len(COUNT_COLUMNS) + 1, counts.share)
    groups.finish(len(titles), footer)
    targets = _Sheet(book, say(locale, "xlsx.sheet.targets"), formats)
    targets.heading(heading, lines, 5)
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
        share = target_share(row.share, say(locale, DECIMAL.key))
        targets.put(
            [
                say(locale, f"report.target.{row.id}"),
                say(locale, "report.milestone", share=share, year=row.milestone_year),
                row.achieved,
                None,
                say(locale, "xlsx.missing") if row.missing else row.needed,
            ]
        )
        _share(targets, 3, row.achieved_share)
    targets.finish(5, footer)
    if analytics is not None:
        _review_sheet(book, formats, analytics, say, locale, (heading, lines, footer),
                      reviewers or {}, wards)  # fmt: skip
    book.close()


def _review_sheet(
    book: Any,
    formats: Mapping[str, Any],
    analytics: Analytics,
    say: Say,
    locale: str,
    top: tuple[str, list[str], str],
    reviewers: Mapping[str, str],
    wards: WardDirectory | None,
) -> None:
    """Waiting by age; time to first decision per unit and per reviewer (hours, p50 and p90);
    returns per declaration: the figures of ``bot.services.analytics``, as the dashboard."""
    heading, lines, footer = top
    sheet = _Sheet(book, say(locale, _REVIEW["sheet"].key), formats)
    sheet.heading(heading, lines, 4)
    sheet.sheet.repeat_rows(sheet.row)  # several small tables: the first one's title repeated
    for col, width in enumerate((34, 14, 14, 14)):
        sheet.sheet.set_column(col, col, width)

    def hours(value: float | None) -> object:
        return round(value, 1) if value is not None else None

    sheet.line(say(locale, _REVIEW["waiting"].key), 4, "sign")
    sheet.put([say(locale, _REVIEW["age"].key), say(locale, _REVIEW["count"].key)], bold=True)
    for index, count in enumerate(analytics.waiting):
        sheet.put([say(locale, f"analytics.age.{index}"), count])
    sheet.row += 1
    titles = [_REVIEW["decided"], _REVIEW["p50"], _REVIEW["p90"]]
    for title, rows in (
        (_REVIEW["by_ward"], [
            (wards.name_of(code, code) if wards else code, times)
            for code, times in analytics.by_ward.items()
        ]),
        (_REVIEW["by_reviewer"], [
            (reviewers.get(actor, actor), times) for actor, times in analytics.by_reviewer.items()
        ]),
    ):  # fmt: skip
        sheet.line(say(locale, title.key), 4, "sign")
        sheet.put(["", *(say(locale, t.key) for t in titles)], bold=True)
        for name, times in sorted(rows, key=lambda row: collation_key(row[0])):
            sheet.put([name, times.count, hours(times.p50), hours(times.p90)])
        overall = analytics.overall
        sheet.put([say(locale, _REVIEW["all"].key), overall.count, hours(overall.p50),
                   hours(overall.p90)], bold=True)  # fmt: skip
        sheet.row += 1
    sheet.line(say(locale, _REVIEW["returns"].key), 4, "sign")
    sheet.put([say(locale, _REVIEW["returned"].key), say(locale, _REVIEW["count"].key)], bold=True)
    for key, count in analytics.returns.items():
        sheet.put([key, count])
    average = analytics.returns_per_declaration
    sheet.put([say(locale, _REVIEW["average"].key), round(average, 2) if average is not None
               else None], bold=True)  # fmt: skip
    _print_setup(sheet.sheet, footer)


# the reviewers' sheet's words (Texts, so that `make messages` finds them)
_REVIEW = {
    "sheet": t("analytics.sheet"),
    "waiting": t("analytics.waiting"),
    "age": t("analytics.age"),
    "count": t("analytics.count"),
    "by_ward": t("analytics.by_ward"),
    "by_reviewer": t("analytics.by_reviewer"),
    "decided": t("analytics.decided"),
    "p50": t("analytics.p50"),
    "p90": t("analytics.p90"),
    "all": t("analytics.all"),
    "returns": t("analytics.returns"),
    "returned": t("analytics.returned"),
    "average": t("analytics.average"),
}
# each band of AGE_BANDS, for `make messages` (the code says f"analytics.age.{index}")
_AGES = (t("analytics.age.0"), t("analytics.age.1"), t("analytics.age.2"), t("analytics.age.3"),
         t("analytics.age.4"))  # fmt: skip


def list_workbook(
    target: Target,
    title: str,
    headers: Sequence[str],
    widths: Sequence[int],
    rows: Iterable[Sequence[object]],
    *,
    heading: str | None = None,
    unit: str | None = None,
    confirmer: str | None = None,
    place: str | None = None,
    made_at: datetime | None = None,
    say: Say | None = None,
    locale: str = "vi",
) -> int:
    """One of a ward office's lists, one sheet named ``title``, ready to print and sign: the
    ``heading`` (default ``title``), «Đơn vị: ``unit``», the date it was made, the table, then
    «``place``, ngày … tháng … năm …» and the signature blocks of the person who made it and
    of the association confirming it (``confirmer``: «Hội Khuyến học Phường Lê Chân»). What is
    not given is left as dots to fill by hand. Returns the rows written."""
    say = say or _default_say()
    dots = "…………………"
    book, formats = _workbook(target)
    sheet = _Sheet(book, title, formats)
    columns = len(headers)
    lines = [say(locale, "xlsx.unit", unit=unit or dots), _made(say, locale, made_at)]
    sheet.heading(heading or title, lines, columns)
    sheet.header(headers, widths, freeze_columns=2)
    count = 0
    for row in rows:
        sheet.put(row)
        count += 1
    hint, name = say(locale, "list.sign.hint"), say(locale, "list.sign.name")
    blocks = [
        (say(locale, "list.sign.preparer").upper(), hint, name),
        (say(locale, "list.sign.confirmer", unit=confirmer or dots).upper(), hint, name),
    ]
    sheet.finish(columns, say(locale, "xlsx.footer"))
    sheet.signatures(columns, say(locale, "list.sign.place_date", place=place or dots), blocks)
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


# the broadcast workbook's own words (Texts, so that `make messages` finds them)
_BC = {
    "sheet": t("xlsx.bc.sheet"),
    "title": t("xlsx.bc.title"),
    "heading": t("xlsx.bc.heading"),
    "total": t("xlsx.bc.total"),
    "all": t("xlsx.bc.all"),
}


def broadcast_workbook(
    target: Target,
    broadcast: Broadcast,
    states: Sequence[str],
    rows: Sequence[tuple[str, Mapping[str, int]]],
    say: Say | None = None,
    locale: str = "vi",
    made_at: datetime | None = None,
) -> None:
    """A broadcast's delivery for each unit: one row a unit (its name as ``rows`` give it),
    one column a state (``states``, in the report's order, named as the report names them),
    and the total; the last row the whole broadcast."""
    from bot.domain.usecases.broadcasts import DELIVERY_STATES

    say = say or _default_say()
    book, formats = _workbook(target)
    sheet = _Sheet(book, say(locale, _BC["sheet"].key), formats)
    titles = [
        say(locale, "xlsx.col.ward"),
        *(say(locale, DELIVERY_STATES[s].key) if s in DELIVERY_STATES else s for s in states),
        say(locale, _BC["total"].key),
    ]
    columns = len(titles)
    heading = [say(locale, _BC["heading"].key, id=broadcast.id, recipients=broadcast.recipients)]
    sheet.heading(say(locale, _BC["title"].key), [*heading, _made(say, locale, made_at)], columns)
    sheet.header(titles, [28, *([14] * (columns - 1))], 1)
    totals = dict.fromkeys(states, 0)
    for name, counts in rows:
        sheet.put([name, *(counts.get(s, 0) for s in states), sum(counts.values())])
        for state in states:
            totals[state] += counts.get(state, 0)
    sheet.put([say(locale, _BC["all"].key), *totals.values(), sum(totals.values())], bold=True)
    sheet.finish(columns, say(locale, _BC["title"].key))
    book.close()

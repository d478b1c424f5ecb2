"""Staff's figures and files in the chat: /report, /export and the ward office's lists
(/proposed, /notstarted, /waiting). Each checks the account's role and wards when it runs;
a coordinator gets only their wards, a city admin the province, a citizen a refusal.

The report counts only citizens who agreed to the statistics purpose (and says so); the lists
and the export serve verification and hold everyone in scope. Lists go by unit in Vietnamese
alphabetical order, and within a unit by given name (the last word) as Vietnamese lists do;
the waiting list, oldest submission first within a unit."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.usecases.decisions import verified_total
from bot.domain.usecases.notices import file_message
from bot.domain.usecases.roles import Role, staff_names
from bot.domain.validation import national_phone
from bot.domain.wards import WardDirectory
from bot.engine import Answered, Joined, Text, t
from bot.flows.common import VN_TIME, Ctx, local_date, services
from bot.flows.staff import _role, _scope
from bot.services.evidence import delivered_once
from bot.services.export import collect_records, render_csv
from bot.services.report import (
    DECIMAL,
    Report,
    build_report,
    collation_key,
    percent,
    target_share,
)
from bot.services.spreadsheet import (
    WORDS,
    export_workbook,
    list_workbook,
    local_time,
    report_workbook,
    unit_label,
)

__all__ = [
    "LISTS",
    "export_command",
    "list_rows",
    "not_started_command",
    "proposed_command",
    "report_command",
    "waiting_command",
    "write_list",
]

# message ids built from data, listed so that `make messages` keeps them
DYNAMIC_TEXTS = (
    t("report.target.adults"), t("report.target.staff"), t("report.target.digital"),
    t("list.proposed.heading"), t("list.proposed.empty"),
    t("list.not_started.heading"), t("list.not_started.empty"),
    t("list.waiting.heading"), t("list.waiting.empty"),
    t("list.proposed.print_title"), t("list.not_started.print_title"),
    t("list.waiting.print_title"),
)  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_IN_CHAT = 10  # names listed in the message; the file has them all
DEFAULT_WAITING_DAYS = 7


async def _staff(ctx: Ctx) -> Role | None:
    role = await _role(ctx)
    return role if role.is_staff else None


async def _attach(ctx: Ctx, data: bytes, name: str, caption: Text, mime: str = XLSX) -> bool:
    """Queue ``data`` as a document to this chat, sent by the outbox after the reply; False
    when this server keeps no files. The file is about many people (an export, a list): it
    goes once delivered, and with any citizen's erasure if it is still kept then."""
    bundle = services(ctx)
    if bundle.files is None:
        return False
    kept = bundle.files.save(data)
    message = file_message(
        ctx.identity.channel, ctx.identity.external_id, kept, "document", mime, name, caption
    )
    await ctx.uow.outbox.enqueue(delivered_once(message), ctx.now)
    return True


def _say(ctx: Ctx) -> Callable[..., str]:
    translate = services(ctx).translate
    assert translate is not None, "the service bundle has no translator"
    return translate


def _stamp(ctx: Ctx) -> str:
    return f"{ctx.now.astimezone(VN_TIME):%Y%m%d-%H%M}"


def _year(ctx: Ctx) -> int:
    args = str(ctx.values.get("args") or "").split()
    for word in args:
        if word.isdigit() and len(word) == 4:
            return int(word)
    return services(ctx).year(ctx.now)


async def _report(ctx: Ctx, role: Role) -> Report:
    bundle = services(ctx)
    wards, _ = _scope(ctx, role)
    return await build_report(
        ctx.uow,
        bundle.wards,
        _year(ctx),
        wards,
        bundle.targets,
        bundle.population,
    )


async def report_command(ctx: Ctx) -> Answered:
    """``/report [YEAR]``: the year's figures for the account's wards (the province for an
    admin) as a short message, with the Excel report attached."""
    role = await _staff(ctx)
    if role is None:
        return t("rev.error.not_staff")
    _, scope = _scope(ctx, role)
    report = await _report(ctx, role)
    total = report.province
    decimal = _say(ctx)(ctx.locale, DECIMAL.key)  # «33,3%» in Vietnamese
    lines: list[Text | str] = []
    summary = dict(
        year=report.year,
        scope=scope,
        registered=total.registered,
        not_started=total.registered - total.declaring - total.submitted,
        draft=total.declaring,
        submitted=total.pending,
        returned=total.returned,
        recognised=total.recognised,
        not_recognised=total.not_recognised,
        share=percent(total.share, decimal),
    )
    for row in report.targets:
        lines.append(
            t(
                "report.target.line",
                target=t(f"report.target.{row.id}"),
                share=target_share(row.share, decimal),
                year=row.milestone_year,
                achieved=row.achieved,
                achieved_share=percent(row.achieved_share, decimal),
            )
            if not row.missing
            else t(
                "report.target.line.missing",
                target=t(f"report.target.{row.id}"),
                share=target_share(row.share, decimal),
                year=row.milestone_year,
                achieved=row.achieved,
            )
        )
    buffer = io.BytesIO()
    report_workbook(buffer, report, _say(ctx), ctx.locale, made_at=ctx.now)
    name = f"bao-cao-cdht-{report.year}-{_stamp(ctx)}.xlsx"
    attached = await _attach(ctx, buffer.getvalue(), name, t("report.file.caption", scope=scope))
    return t(
        "report.summary",
        **summary,
        coverage=t("report.coverage") if report.purpose is not None else "",
        targets=Joined(tuple(lines), "\n"),
        file=t("report.file.attached") if attached else t("report.file.none"),
    )


async def export_command(ctx: Ctx) -> Answered:
    """``/export`` (Excel) or ``/export csv``: one row per citizen of the account's wards (the
    province for an admin), sent into this chat; cells are never live formulas."""
    bundle = services(ctx)
    role = await _staff(ctx)
    if role is None:
        return t("rev.error.not_staff")
    if bundle.files is None:
        return t("export.unavailable")
    wards, scope = _scope(ctx, role)
    records = await collect_records(ctx.uow, bundle.criteria, wards)
    indicators = sorted({i.id for c in bundle.criteria.values() for i in c.indicators})
    caption = t("export.caption", scope=scope, count=len(records))
    if "csv" in str(ctx.values.get("args") or "").lower():
        data = render_csv(records, indicators).encode("utf-8-sig")
        await _attach(ctx, data, f"cdht-{_stamp(ctx)}.csv", caption, "text/csv")
    else:
        report = await _report(ctx, role)
        buffer = io.BytesIO()

        async def pages() -> AsyncIterator[list[dict[str, Any]]]:
            yield records

        await export_workbook(
            buffer, pages(), report, indicators, bundle.wards, _say(ctx), ctx.locale,
            made_at=ctx.now,
        )  # fmt: skip
        await _attach(ctx, buffer.getvalue(), f"cdht-{_stamp(ctx)}.xlsx", caption)
    return t("export.sending", count=len(records))


# -- the ward office's lists -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListSpec:
    name: str  # proposed, not_started, waiting
    title: Text
    headers: tuple[Text, ...]
    widths: tuple[int, ...]


LISTS = {
    "proposed": ListSpec(
        "proposed",
        t("list.proposed.title"),
        (
            t("list.col.number"), t("xlsx.col.full_name"), t("xlsx.col.birth_year"),
            t("xlsx.col.gender"), t("xlsx.col.group"), t("xlsx.col.ward"),
            t("xlsx.col.residential_group"), t("xlsx.col.phone"), t("xlsx.col.verified_total"),
            t("xlsx.col.decided_at"), t("xlsx.col.decided_by"),
        ),
        (6, 26, 9, 9, 28, 24, 18, 15, 10, 17, 26),
    ),
    "not_started": ListSpec(
        "not_started",
        t("list.not_started.title"),
        (
            t("list.col.number"), t("xlsx.col.full_name"), t("xlsx.col.birth_year"),
            t("xlsx.col.ward"), t("xlsx.col.residential_group"), t("xlsx.col.phone"),
            t("xlsx.col.channel"), t("xlsx.col.registered_at"),
        ),
        (6, 26, 9, 24, 18, 15, 10, 17),
    ),
    "waiting": ListSpec(
        "waiting",
        t("list.waiting.title"),
        (
            t("list.col.number"), t("xlsx.col.full_name"), t("xlsx.col.ward"),
            t("xlsx.col.residential_group"), t("xlsx.col.submitted_at"), t("list.col.days"),
            t("list.col.declaration"),
        ),
        (6, 26, 24, 18, 17, 10, 10),
    ),
}  # fmt: skip


class WardNames(Protocol):
    """A unit's name by its code, else ``otherwise`` (``WardDirectory.name_of``)."""

    def __call__(self, code: str, otherwise: str | None = None, /) -> str: ...


async def list_rows(
    uow: UnitOfWork,
    name: str,
    wards: frozenset[str] | None,
    year: int,
    now: datetime,
    days: int,
    ward_name: WardNames,
    staff_names: dict[str, str],
    words: Callable[[str], str],
) -> list[list[object]]:
    """The rows of one list (numbered), for the chat, the command line and the file: units in
    Vietnamese order; values as words (``words(key)`` translates a catalog key)."""

    def unit(person: Citizen) -> str:  # a code no longer listed: the name stored with it
        return ward_name(person.ward_code, person.ward_name)

    def gender(person: Citizen) -> str | None:
        return words(f"gender.{person.gender}") if person.gender else None

    def channel_word(name: str) -> str:
        return words(f"xlsx.channel.{name}") if name in WORDS["channel"] else name

    def channel(person: Citizen) -> str:
        return channel_word(person.channel)

    def decided_by(account: str | None) -> str | None:
        """The name the coordinator gave; else «Chưa ghi tên (Telegram)», not the account."""
        shown = staff_names.get(account or "", account)
        if shown != account or account is None:
            return shown
        return words("xlsx.staff.unnamed").format(account=channel_word(account.partition(":")[0]))

    def by_name(person: Citizen) -> tuple[Any, ...]:
        given = person.full_name.split()[-1:] or [""]
        return (
            collation_key(unit(person)),
            collation_key(given[0]),
            collation_key(person.full_name),
        )

    rows: list[list[object]] = []
    if name == "proposed":
        found = await uow.declarations.with_status(("recognised",), wards, year=year)
        answers = await uow.declarations.answers_by_declaration(year)
        ordered = sorted(found, key=lambda pair: by_name(pair[1]))
        for number, (declaration, person) in enumerate(ordered, start=1):
            total = verified_total(answers.get(declaration.id, {}))
            rows.append(
                [
                    number, person.full_name, person.birth_year, gender(person),
                    words(f"group.{person.group}"), unit(person), person.residential_group,
                    national_phone(person.phone), total, local_time(declaration.decided_at),
                    decided_by(declaration.decided_by),
                ]
            )  # fmt: skip
    elif name == "not_started":
        people = sorted(await uow.citizens.without_declaration(year, wards), key=by_name)
        for number, person in enumerate(people, start=1):
            rows.append(
                [
                    number, person.full_name, person.birth_year, unit(person),
                    person.residential_group, national_phone(person.phone), channel(person),
                    local_time(person.registered_at),
                ]
            )  # fmt: skip
    else:
        before = now - timedelta(days=days)
        found = await uow.declarations.with_status(("submitted",), wards, submitted_before=before)
        waiting = sorted(found, key=lambda pair: collation_key(unit(pair[1])))  # stable: oldest
        for number, (declaration, person) in enumerate(waiting, start=1):
            submitted = declaration.submitted_at or now
            rows.append(
                [
                    number, person.full_name, unit(person),
                    person.residential_group, local_time(submitted),
                    (now - submitted).days, declaration.id,
                ]
            )  # fmt: skip
    return rows


# the kind of unit before a place's name, left out of «…, ngày … tháng … năm …» as official
# documents write it (Nghị định 30/2020/NĐ-CP, appendix I: the unit's name, «Lê Chân, ngày…»)
_KINDS = ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu ", "Thị trấn ")


def _place(name: str) -> str:
    for kind in _KINDS:
        rest = name.removeprefix(kind)
        if rest != name and not rest.isdigit():  # «Phường 5» keeps its kind
            return rest
    return name


def write_list(
    target: str | Path | IO[bytes],
    name: str,
    rows: Sequence[Sequence[object]],
    *,
    scope: Collection[str] | None,
    year: int,
    days: int,
    wards: WardDirectory,
    say: Callable[..., str],
    locale: str,
    made_at: datetime | None = None,
) -> int:
    """One list (``list_rows``) as the Excel file a ward office prints and signs: its title,
    the unit (``scope``'s units, None: the province), the date, and the signature blocks of
    whoever made it and of the unit's association. Returns the rows written."""
    spec = LISTS[name]
    units = sorted({wards.name_of(code) for code in scope}, key=collation_key) if scope else []
    single = wards.province_name if scope is None else units[0] if len(units) == 1 else None
    return list_workbook(
        target,
        say(locale, spec.title.key),
        [say(locale, h.key, **h.params) for h in spec.headers],
        spec.widths,
        rows,
        heading=say(locale, f"list.{name}.print_title", year=year, days=days),
        unit=unit_label(wards, scope),
        confirmer=single or say(locale, "list.unit.several"),
        place=_place(single) if single else None,
        made_at=made_at,
        say=say,
        locale=locale,
    )


async def _list_command(ctx: Ctx, name: str) -> Answered:
    role = await _staff(ctx)
    if role is None:
        return t("rev.error.not_staff")
    wards, scope = _scope(ctx, role)
    year = _year(ctx)
    args = str(ctx.values.get("args") or "").split()
    days = next((int(a) for a in args if a.isdigit() and len(a) <= 3), DEFAULT_WAITING_DAYS)
    say = _say(ctx)
    names = await staff_names(ctx.uow)
    rows = await list_rows(
        ctx.uow, name, wards, year, ctx.now, days,
        services(ctx).wards.name_of, names,
        lambda key: say(ctx.locale, key),
    )  # fmt: skip
    spec = LISTS[name]
    heading = t(f"list.{name}.heading", year=year, scope=scope, count=len(rows), days=days)
    if not rows:
        return t(f"list.{name}.empty", year=year, scope=scope, days=days)
    shown: list[Text | str] = [_line(name, row) for row in rows[:SHOWN_IN_CHAT]]
    if len(rows) > SHOWN_IN_CHAT:
        shown.append(t("list.more", count=len(rows) - SHOWN_IN_CHAT))
    buffer = io.BytesIO()
    title = say(ctx.locale, spec.title.key)
    write_list(
        buffer, name, rows, scope=wards, year=year, days=days, wards=services(ctx).wards,
        say=say, locale=ctx.locale, made_at=ctx.now,
    )  # fmt: skip
    file_name = f"{name.replace('_', '-')}-{year}-{_stamp(ctx)}.xlsx"
    caption = t("list.file.caption", title=title)
    attached = await _attach(ctx, buffer.getvalue(), file_name, caption)
    return t(
        "list.shown",
        heading=heading,
        lines=Joined(tuple(shown), "\n"),
        file=t("list.file.attached") if attached else t("report.file.none"),
    )


def _line(name: str, row: Sequence[object]) -> str:
    if name == "proposed":
        return f"{row[0]}. {row[1]} ({row[2]}), {row[5]}: {row[8]}"
    if name == "not_started":
        return f"{row[0]}. {row[1]} ({row[2]}), {row[3]}, {row[4]}"
    moment = row[4]
    when = local_date(moment.replace(tzinfo=VN_TIME)) if isinstance(moment, datetime) else ""
    return f"{row[0]}. {row[1]}, {row[2]}: {when} (#{row[6]})"


async def proposed_command(ctx: Ctx) -> Answered:
    """``/proposed [YEAR]``: citizens approved this year, the list the ward sends up."""
    return await _list_command(ctx, "proposed")


async def not_started_command(ctx: Ctx) -> Answered:
    """``/notstarted [YEAR]``: registered, no declaration this year."""
    return await _list_command(ctx, "not_started")


async def waiting_command(ctx: Ctx) -> Answered:
    """``/waiting [DAYS]``: submitted and waiting for review longer than DAYS (default 7)."""
    return await _list_command(ctx, "waiting")

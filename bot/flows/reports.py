"""Staff's figures and files in the chat: /report, /export and the ward office's lists
(/proposed, /notstarted, /waiting). Each checks the account's role and wards when it runs, in
the table of ``bot.domain.permissions``: a coordinator gets only their wards, a city admin the
province, a citizen a refusal.

The report counts only citizens who agreed to the statistics purpose (and says so); the lists
and the export serve verification and hold everyone in scope. Lists go by unit in Vietnamese
alphabetical order, and within a unit by given name (the last word) as Vietnamese lists do;
the waiting list, oldest submission first within a unit."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.permissions import Action, allowed, scope_of
from bot.domain.usecases.notices import file_message
from bot.domain.usecases.roles import Role, refusal, staff_names
from bot.engine import Answered, Joined, Text, t
from bot.flows.common import VN_TIME, Ctx, local_date, services
from bot.flows.staff import _role, _ward_names
from bot.services.analytics import reviewer_analytics
from bot.services.evidence import delivered_once
from bot.services.export import collect_records, render_csv
from bot.services.lists import LISTS, list_rows, write_list
from bot.services.report import (
    DECIMAL,
    Report,
    build_report,
    percent,
    target_share,
)
from bot.services.spreadsheet import (
    export_workbook,
    report_workbook,
)

__all__ = [
    "export_command",
    "not_started_command",
    "proposed_command",
    "report_command",
    "waiting_command",
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


async def _allowed(ctx: Ctx, action: Action) -> Role | Text:
    """The account's role if it may do ``action`` now; else what it hears."""
    role = await _role(ctx)
    return role if allowed(role, action) else refusal(role, action)


def _scope(ctx: Ctx, role: Role, action: Action) -> tuple[frozenset[str] | None, Text]:
    """Where ``role`` may do ``action`` (None: the province), and that place in words."""
    wards = scope_of(role, action)
    if wards is None:
        return None, t("report.scope.city")
    return wards, t("report.scope.wards", wards=_ward_names(ctx, wards))


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


async def _report(ctx: Ctx, role: Role, action: Action) -> Report:
    bundle = services(ctx)
    wards, _ = _scope(ctx, role, action)
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
    role = await _allowed(ctx, Action.REPORT)
    if not isinstance(role, Role):
        return role
    _, scope = _scope(ctx, role, Action.REPORT)
    report = await _report(ctx, role, Action.REPORT)
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
    wards, _ = _scope(ctx, role, Action.REPORT)
    analytics = await reviewer_analytics(ctx.uow, wards, ctx.now, report.year)
    buffer = io.BytesIO()
    report_workbook(
        buffer, report, _say(ctx), ctx.locale, made_at=ctx.now, analytics=analytics,
        reviewers=await staff_names(ctx.uow), wards=services(ctx).wards,
    )  # fmt: skip
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
    role = await _allowed(ctx, Action.EXPORT)
    if not isinstance(role, Role):
        return role
    if bundle.files is None:
        return t("export.unavailable")
    wards, scope = _scope(ctx, role, Action.EXPORT)
    records = await collect_records(ctx.uow, bundle.criteria, wards)
    indicators = sorted({i.id for c in bundle.criteria.values() for i in c.indicators})
    caption = t("export.caption", scope=scope, count=len(records))
    if "csv" in str(ctx.values.get("args") or "").lower():
        data = render_csv(records, indicators).encode("utf-8-sig")
        await _attach(ctx, data, f"cdht-{_stamp(ctx)}.csv", caption, "text/csv")
    else:
        report = await _report(ctx, role, Action.EXPORT)
        buffer = io.BytesIO()

        async def pages() -> AsyncIterator[list[dict[str, Any]]]:
            yield records

        await export_workbook(
            buffer, pages(), report, indicators, bundle.wards, _say(ctx), ctx.locale,
            made_at=ctx.now,
        )  # fmt: skip
        await _attach(ctx, buffer.getvalue(), f"cdht-{_stamp(ctx)}.xlsx", caption)
    return t("export.sending", count=len(records))


async def _list_command(ctx: Ctx, name: str) -> Answered:
    role = await _allowed(ctx, Action.LISTS)
    if not isinstance(role, Role):
        return role
    wards, scope = _scope(ctx, role, Action.LISTS)
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

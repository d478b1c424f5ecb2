"""The commands that read the campaign out, to the terminal or a file: ``cdht export`` (one
record per citizen), ``cdht report`` (the figures against the targets), ``cdht list`` (a ward
office's lists). The file's format is settled and the file checked before the database is
read (``to_file``); what they read comes from the services the web console and the chat use."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from bot.cli.files import Output, choose_format, writing
from bot.cli.shared import CliError, this_year, unit_codes
from bot.cli.store import open_store
from bot.config import Settings

__all__ = ["export_text", "to_file"]


def to_file(args: argparse.Namespace, settings: Settings, command: str) -> int:
    """The commands that may write a file: its format settled and the file checked before
    the database is read; removed if anything fails before it is complete."""
    offered = ("json", "csv", "xlsx") if command == "export" else ("text", "xlsx")
    args.format = choose_format(args.format, args.output, offered, offered[0])
    if args.format == "xlsx" and args.output is None:
        raise CliError("--format xlsx needs --output FILE")
    output = Output(args.output) if args.output is not None else None
    try:
        if command == "export" and args.format == "xlsx":
            assert output is not None
            return asyncio.run(_export_xlsx(settings, args, output))
        if command == "export":
            return _export(settings, args, output)
        if command == "report":
            return asyncio.run(_report(settings, args, output))
        return asyncio.run(_list(settings, args, output))
    finally:
        if output is not None:
            output.discard()


async def export_text(
    settings: Settings, fmt: str, ward: str | None, year: int | None = None
) -> tuple[str, int]:
    """The export as JSON or CSV text, with the number of records in it."""
    from bot.app import load_criteria_sets
    from bot.services.export import export_records, render_csv, render_json

    criteria = load_criteria_sets(settings)
    async with open_store(settings) as store:
        records = await export_records(store, criteria, ward, year)
    indicators = sorted({i.id for c in criteria.values() for i in c.indicators})
    text = render_json(records) if fmt == "json" else render_csv(records, indicators)
    return text, len(records)


def _export(settings: Settings, args: argparse.Namespace, output: Output | None) -> int:
    from bot.app import load_wards

    ward = unit_codes(load_wards(settings), [args.ward])[0] if args.ward else None
    text, count = asyncio.run(export_text(settings, args.format, ward, args.year))
    if output is None:
        sys.stdout.write(text)
        return 0
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    with writing(output) as part:
        part.write_text(text, encoding=encoding)
    print(f"{count} records written to {output.target}", file=sys.stderr)
    return 0


async def _export_xlsx(settings: Settings, args: argparse.Namespace, output: Output) -> int:
    """The Excel export, streamed: pages of citizens in, rows out (bounded memory)."""
    from bot.app import load_criteria_sets, load_wards
    from bot.i18n import Translator
    from bot.services.export import record_pages
    from bot.services.report import Targets, build_report
    from bot.services.spreadsheet import export_workbook

    criteria = load_criteria_sets(settings)
    wards = load_wards(settings)
    scope = set(unit_codes(wards, [args.ward])) if args.ward else None
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    async with open_store(settings) as store:
        async with store.transaction() as uow:
            report = await build_report(
                uow, wards, args.year or this_year(settings), scope, Targets.load(), None
            )
        indicators = sorted({i.id for c in criteria.values() for i in c.indicators})
        pages = record_pages(store, criteria, scope, args.year)
        with writing(output) as part:
            count = await export_workbook(
                part, pages, report, indicators, wards, translator, locale
            )
    print(f"{count} records written to {output.target}", file=sys.stderr)
    return 0


async def _report(settings: Settings, args: argparse.Namespace, output: Output | None) -> int:
    from bot.app import load_population, load_wards
    from bot.domain.usecases.roles import staff_names
    from bot.i18n import Translator
    from bot.services.analytics import reviewer_analytics
    from bot.services.report import Targets, build_report, render_table
    from bot.services.spreadsheet import report_workbook

    wards = load_wards(settings)
    scope = set(unit_codes(wards, args.ward)) or None
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    population = load_population(settings, wards)
    async with open_store(settings) as store, store.transaction() as uow:
        report = await build_report(
            uow, wards, args.year or this_year(settings), scope, Targets.load(), population
        )
        analytics = await reviewer_analytics(uow, scope, datetime.now(UTC), report.year)
        names = await staff_names(uow)
    if args.format == "xlsx":
        assert output is not None
        with writing(output) as part:
            report_workbook(
                part, report, translator, locale,
                analytics=analytics, reviewers=names, wards=wards,
            )  # fmt: skip
        print(f"report of {len(report.units)} units written to {output.target}", file=sys.stderr)
        return 0
    text = render_table(report, lambda key, **params: translator(locale, key, **params))
    _write_text(text, output)
    return 0


async def _list(settings: Settings, args: argparse.Namespace, output: Output | None) -> int:
    from bot.app import load_wards
    from bot.domain.usecases.roles import staff_names
    from bot.i18n import Translator
    from bot.services.lists import LISTS, list_rows, write_list
    from bot.services.spreadsheet import text_rows

    wards = load_wards(settings)
    scope = frozenset(unit_codes(wards, args.ward)) or None
    translator = Translator(settings.default_locale)
    locale = args.locale or settings.default_locale
    name = args.which.replace("-", "_")
    year = args.year or this_year(settings)
    now = datetime.now(UTC)
    async with open_store(settings) as store, store.transaction() as uow:
        names = await staff_names(uow)
        rows = await list_rows(
            uow, name, scope, year, now, args.days, wards.name_of, names,
            lambda key: translator(locale, key),
        )  # fmt: skip
    if args.format == "xlsx":
        assert output is not None
        with writing(output) as part:
            write_list(
                part, name, rows, scope=scope, year=year, days=args.days, wards=wards,
                say=translator, locale=locale, made_at=now,
            )  # fmt: skip
        print(f"{len(rows)} rows written to {output.target}", file=sys.stderr)
        return 0
    spec = LISTS[name]
    headers = [translator(locale, h.key, **h.params) for h in spec.headers]
    _write_text(text_rows(headers, rows), output)
    print(f"{len(rows)} rows", file=sys.stderr)
    return 0


def _write_text(text: str, output: Output | None) -> None:
    """Text to the file asked for, else to the terminal."""
    if output is not None:
        with writing(output) as part:
            part.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)

"""The reports: the dashboard, its workbook (report.xlsx), the export of one row per citizen
(export.xlsx) and the ward office's lists, each over the wards the permissions table grants
the visit for that action (the whole city for an admin)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.domain.collation import collation_key
from bot.domain.permissions import Action, scope_of
from bot.domain.ports import UnitOfWork
from bot.domain.usecases.roles import staff_names
from bot.engine import t
from bot.handlers.web_console.auth import Visit
from bot.handlers.web_console.view import Pages, xlsx_response
from bot.services.analytics import Analytics, Times, reviewer_analytics
from bot.services.export import record_pages
from bot.services.lists import LISTS, list_rows, write_list
from bot.services.report import (
    COUNT_COLUMNS,
    DECIMAL,
    Report,
    build_report,
    percent,
    target_share,
)
from bot.services.spreadsheet import export_workbook, report_workbook

__all__ = ["Reports"]


class Reports(Pages):
    """``/console/dashboard`` and the workbooks it offers."""

    def _year(self, request: web.Request) -> int:
        raw = request.query.get("year", "")
        if raw.isdigit() and len(raw) == 4:
            return int(raw)
        return self.app.services.year(datetime.now(UTC))

    async def _report(self, uow: UnitOfWork, scope: frozenset[str] | None, year: int) -> Report:
        services = self.app.services
        return await build_report(
            uow, self.app.wards, year, scope, services.targets, services.population
        )

    async def dashboard(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        year = self._year(request)
        say = self.view.say
        scope = scope_of(visit.role, Action.REPORT)
        async with self.app.store.transaction() as uow:
            report = await self._report(uow, scope, year)
            analytics = await reviewer_analytics(uow, scope, datetime.now(UTC), year)
            names = await staff_names(uow)
        review = self._review_rows(analytics, names, visit.locale)
        units = [u for u in report.units if u.counts.registered] or report.units[:0]
        widest = max((u.counts.registered for u in units), default=0) or 1
        bars = [
            {
                "name": u.name,
                "registered": u.counts.registered,
                "recognised": u.counts.recognised,
                "width": round(100 * u.counts.registered / widest, 1),
                "done": round(100 * u.counts.recognised / widest, 1),
            }
            for u in units
        ]
        decimal = say(visit.locale, DECIMAL.key)  # «33,3%» in Vietnamese
        targets = [
            {
                "name": say(visit.locale, f"report.target.{row.id}"),
                "milestone": say(
                    visit.locale,
                    "report.milestone",
                    share=target_share(row.share, decimal),
                    year=row.milestone_year,
                ),
                "achieved": row.achieved,
                "share": percent(row.achieved_share, decimal),
                "progress": min(100.0, round(100 * (row.achieved_share or 0) / row.share, 1)),
                # the chat's wording names the setting; an official reads what it means
                "missing": say(visit.locale, t("web.dashboard.missing")) if row.missing else "",
            }
            for row in report.targets
        ]
        columns = [say(visit.locale, f"report.col.{c}") for c in COUNT_COLUMNS]
        return self.view.render(
            visit.locale, "dashboard.html", visit=visit, page="dashboard", report=report,
            columns=columns, units=units, bars=bars, targets=targets, year=year,
            percent=percent, lists=list(LISTS), review=review,
        )  # fmt: skip

    def _review_rows(
        self, analytics: Analytics, names: Mapping[str, str], locale: str
    ) -> dict[str, Any]:
        """The reviewer analytics as the dashboard shows them: hours to one decimal."""

        def shown(value: float | None) -> str:
            return "—" if value is None else f"{value:.1f}".replace(".", self._decimal(locale))

        def times(rows: list[tuple[str, Times]]) -> list[dict[str, Any]]:
            ordered = sorted(rows, key=lambda row: collation_key(row[0]))
            return [
                {"name": name, "count": t.count, "p50": shown(t.p50), "p90": shown(t.p90)}
                for name, t in ordered
            ]

        wards = self.app.wards
        average = analytics.returns_per_declaration
        return {
            "waiting": [
                (self.view.say(locale, f"analytics.age.{index}"), count)
                for index, count in enumerate(analytics.waiting)
            ],
            "by_ward": times([(wards.name_of(c, c), t) for c, t in analytics.by_ward.items()]),
            "by_reviewer": times(
                [(names.get(actor, actor), t) for actor, t in analytics.by_reviewer.items()]
            ),
            "overall": times([("", analytics.overall)])[0],
            "returns": list(analytics.returns.items()),
            "average": shown(average),
        }

    def _decimal(self, locale: str) -> str:
        return self.view.say(locale, DECIMAL.key)

    async def report_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        year = self._year(request)
        scope = scope_of(visit.role, Action.REPORT)
        async with self.app.store.transaction() as uow:
            report = await self._report(uow, scope, year)
            analytics = await reviewer_analytics(uow, scope, datetime.now(UTC), year)
            names = await staff_names(uow)
        buffer = io.BytesIO()
        report_workbook(
            buffer, report, self.app.translator, visit.locale,
            analytics=analytics, reviewers=names, wards=self.app.wards,
        )  # fmt: skip
        return xlsx_response(buffer.getvalue(), f"bao-cao-cdht-{year}.xlsx")

    async def export_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        year = self._year(request)
        services = self.app.services
        scope = scope_of(visit.role, Action.EXPORT)
        async with self.app.store.transaction() as uow:
            report = await self._report(uow, scope, year)
        indicators = sorted({i.id for c in services.criteria.values() for i in c.indicators})
        # streamed as `cdht export --format xlsx` is: pages of citizens, each read in a short
        # transaction of its own, never the whole scope in memory nor the write lock held
        pages = record_pages(self.app.store, services.criteria, scope)
        buffer = io.BytesIO()
        await export_workbook(
            buffer, pages, report, indicators, self.app.wards, self.app.translator, visit.locale
        )
        return xlsx_response(buffer.getvalue(), f"cdht-{year}.xlsx")

    async def list_xlsx(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in LISTS:
            raise web.HTTPNotFound()
        year = self._year(request)
        days = request.query.get("days", "7")
        waiting_days = int(days) if days.isdigit() and len(days) <= 3 else 7
        now = datetime.now(UTC)
        scope = scope_of(visit.role, Action.LISTS)
        async with self.app.store.transaction() as uow:
            names = await staff_names(uow)
            rows = await list_rows(
                uow, name, scope, year, now, waiting_days,
                self.app.wards.name_of, names, lambda key: self.view.say(visit.locale, key),
            )  # fmt: skip
        buffer = io.BytesIO()
        write_list(
            buffer, name, rows, scope=scope, year=year, days=waiting_days, wards=self.app.wards,
            say=self.app.translator, locale=visit.locale, made_at=now,
        )  # fmt: skip
        return xlsx_response(buffer.getvalue(), f"{name.replace('_', '-')}-{year}.xlsx")

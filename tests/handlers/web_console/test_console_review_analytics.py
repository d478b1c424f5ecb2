"""On both databases: the reviewer analytics on the dashboard and in report.xlsx, against the
seeded history of ``tests/domain/usecases/test_analytics.py`` (answers worked out by hand);
and a declaration's links to the previous and the next in the queue."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl

from tests.domain.usecases.test_analytics import seeded
from tests.domain.usecases.test_assignment import declarations_of
from tests.domain.usecases.test_declarations import citizen_of
from tests.handlers.web_console.http_helpers import page_text, served, sign_in

ADMIN = "telegram:900"


async def test_the_dashboard_and_the_workbook_show_the_reviewer_figures(
    tmp_path: Path, database_url: str
) -> None:
    async with served(tmp_path, database_url, ADMIN) as web:
        await seeded(web.app.store)
        await sign_in(web, ADMIN)
        year = 2026  # the seeded declarations' campaign year
        page = page_text(await (await web.client.get(f"/console/dashboard?year={year}")).text())
        # first decisions: Lê Chân 2, 10, 20 hours; Hồng Bàng 5; all four: p50 5, p90 20
        assert "Phường Lê Chân 3 10,0 20,0" in page
        assert "Phường Hồng Bàng 1 5,0 5,0" in page
        assert "Tất cả 4 5,0 20,0" in page
        assert "telegram:c1 2 2,0 20,0" in page  # a reviewer with no record: its account
        # returned: five never, one once, one twice; 3 returns over 7 declarations
        assert "0 5 1 1 2+ 1 Bình quân mỗi hồ sơ đã nộp 0,4" in page

        response = await web.client.get(f"/console/report.xlsx?year={year}")
        assert response.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
        sheet = book["Xét duyệt"]
        rows = [[c.value for c in row] for row in sheet.iter_rows() if row[0].value]
        assert ["Phường Lê Chân", 3, 10, 20] in rows
        assert ["Phường Hồng Bàng", 1, 5, 5] in rows
        assert ["telegram:c3", 1, 5, 5] in rows
        assert ["2+", 1, None, None] in rows and [
            "Bình quân mỗi hồ sơ đã nộp",
            0.43,
            None,
            None,
        ] in rows


async def test_a_declaration_links_to_the_previous_and_next_in_the_queue(
    tmp_path: Path, database_url: str
) -> None:
    async with served(tmp_path, database_url, ADMIN) as web:
        async with web.app.store.transaction() as uow:
            citizen = await citizen_of(uow)
        first, middle, last = (d.id for d in await declarations_of(web.app.store, citizen, 3))
        await sign_in(web, ADMIN)

        async def links(number: int) -> tuple[str | None, str | None]:
            page = await (await web.client.get(f"/console/d/{number}")).text()
            found = [re.search(rf'href="/console/d/(\d+)" id="{name}"', page) for name in
                     ("previous", "next")]  # fmt: skip
            return tuple(m.group(1) if m else None for m in found)  # type: ignore[return-value]

        assert await links(first) == (None, str(middle))  # the oldest submission first
        assert await links(middle) == (str(first), str(last))
        assert await links(last) == (str(middle), None)

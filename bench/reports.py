"""Reports and the Excel export on a city-sized database.

    .venv/bin/python bench/reports.py [--citizens 200000] [--rounds 5]

Seeds SQLite in a temporary folder with N citizens spread over the 114 units and four target
groups, half of them with a declaration of this year (all ten scores) in every status, then
prints, for N/10 and N citizens:

1. **Report**: the SELECT statements one province report issues (counted at the driver) and its
   time (min and median of ``--rounds``), so that a constant count shows up beside a time that
   grows with the rows SQLite scans.
2. **Excel export**: the streamed export (``record_pages`` into xlsxwriter's constant-memory
   mode) of every citizen, each in a fresh child process: time, file size, and the child's peak
   resident memory; and, for N/10 only, the same rows collected in memory first (the chat's
   ``/export``), for contrast.

No assertion: figures only (README "Performance").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_app, load_criteria_sets, load_wards
from bot.config import Settings

YEAR = 2026
STATUSES = ("draft", "submitted", "returned", "recognised", "recognised", "not_recognised")


def settings(folder: Path) -> Settings:
    return Settings(_env_file=None, data_dir=folder, campaign_year=YEAR)


async def migrate(folder: Path) -> None:
    app = build_app(settings(folder))
    await app.migrate()
    await app.close()


def seed(folder: Path, citizens: int) -> None:
    """Rows straight through sqlite3 (seeding is not what is measured)."""
    codes = [ward.code for ward in load_wards(settings(folder)).all()]
    rng = random.Random(7)
    now = datetime(YEAR, 6, 1, tzinfo=UTC).isoformat(sep=" ")
    db = sqlite3.connect(folder / "cdht.sqlite3")
    with db:
        db.executemany(
            "INSERT INTO citizens (id, full_name, birth_year, gender, phone, target_group, "
            "ward_code, ward_name, ward_data_version, residential_group, channel, locale, "
            "registered_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    n,
                    f"Nguyễn Văn {n}",
                    1950 + n % 50,
                    ("female", "male")[n % 2],
                    f"+8491{n:07d}",
                    1 + n % 4,
                    codes[n % len(codes)],
                    "x",
                    "bench",
                    f"Tổ {n % 30}",
                    "telegram",
                    "vi",
                    now,
                    now,
                )
                for n in range(1, citizens + 1)
            ),
        )
        db.executemany(
            "INSERT INTO consents (citizen_id, notice_version, purposes, accepted_at, channel) "
            "VALUES (?,?,?,?,?)",
            (
                (n, "v1", json.dumps([p]), now, "telegram")
                for n in range(1, citizens + 1)
                for p in ("registration_self_assessment", "share_with_ward_coordinator")
                + (("anonymous_statistics",) if n % 10 else ())
            ),
        )
        declared = [n for n in range(1, citizens + 1) if n % 2 == 0]
        db.executemany(
            "INSERT INTO declarations (id, citizen_id, year, criteria_set, status, created_at, "
            "updated_at, submitted_at, review_round, decision, decided_at) "
            "VALUES (?,?,?,?,?,?,?,?,1,?,?)",
            (
                (
                    n,
                    n,
                    YEAR,
                    "qd324-2023",
                    status,
                    now,
                    now,
                    None if status == "draft" else now,
                    {"recognised": "approved", "not_recognised": "rejected"}.get(status),
                    now if status in ("recognised", "not_recognised") else None,
                )
                for n in declared
                for status in [STATUSES[rng.randrange(len(STATUSES))]]
            ),
        )
        db.executemany(
            "INSERT INTO declaration_answers (declaration_id, indicator, score, updated_at) "
            "VALUES (?,?,?,?)",
            ((n, i, 5 + (n + i) % 6, now) for n in declared for i in range(1, 11)),
        )
    db.close()


async def report_figures(folder: Path, rounds: int) -> tuple[int, list[float]]:
    from sqlalchemy import event

    from bot.services.report import Targets, build_report

    app = build_app(settings(folder))
    writer = app.store._writer  # SQLite's one connection
    assert writer is not None
    engine = writer.engine
    selects: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    times = []
    try:
        for _ in range(rounds):
            selects.clear()
            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            async with app.store.transaction() as uow:
                await build_report(uow, app.wards, YEAR, None, Targets.load(), None)
            times.append(time.perf_counter() - started)
            event.remove(engine, "before_cursor_execute", count)
    finally:
        await app.close()
    return len(selects), times


async def export_child(folder: Path, how: str, output: Path) -> None:
    """Run in a child process: one export, then the child's figures as JSON on stdout."""
    from bot.i18n import Translator
    from bot.services.export import export_records, record_pages
    from bot.services.report import Targets, build_report
    from bot.services.spreadsheet import export_workbook
    from storage import SqlStore, create_engine

    config = settings(folder)
    criteria = load_criteria_sets(config)
    wards = load_wards(config)
    store = SqlStore(create_engine(config.effective_database_url))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    async with store.transaction() as uow:
        report = await build_report(uow, wards, YEAR, None, Targets.load(), None)
    if how == "streamed":
        pages = record_pages(store, criteria, None, YEAR)
    else:
        everything = await export_records(store, criteria, None, YEAR)

        async def one_page() -> AsyncIterator[list[dict[str, Any]]]:
            yield everything

        pages = one_page()
    rows = await export_workbook(output, pages, report, range(1, 11), wards, Translator("vi"), "vi")
    elapsed = time.perf_counter() - started
    await store.close()
    print(_figures(output, rows, elapsed, before))


def _figures(output: Path, rows: int, elapsed: float, before: int) -> str:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return json.dumps(
        {
            "rows": rows,
            "seconds": elapsed,
            "peak_mb": peak / 1024,
            "start_mb": before / 1024,
            "file_mb": output.stat().st_size / 1e6,
        }
    )


def export_figures(folder: Path, how: str) -> dict[str, float]:
    output = folder / f"export-{how}.xlsx"
    found = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            how,
            "--folder",
            str(folder),
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    figures: dict[str, float] = json.loads(found.stdout.strip().splitlines()[-1])
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=("streamed", "in-memory"))
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.child:
        await export_child(args.folder, args.child, args.output)
        return
    print(f"bench/reports.py: python {sys.version.split()[0]}, SQLite")
    for size in (args.citizens // 10, args.citizens):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            await migrate(folder)
            started = time.perf_counter()
            seed(folder, size)
            print(f"\n{size:,} citizens ({size // 2:,} declarations) seeded in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            queries, times = await report_figures(folder, args.rounds)
            print(
                f"  province report: {queries} SELECT statements, "
                f"min {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms"
            )
            variants = ("streamed", "in-memory") if size < args.citizens else ("streamed",)
            for how in variants:
                got = export_figures(folder, how)
                print(
                    f"  Excel export, {how}: {got['rows']:,.0f} rows in {got['seconds']:.1f} s, "
                    f"{got['file_mb']:.1f} MB file, peak memory {got['peak_mb']:.0f} MB "
                    f"(after imports {got['start_mb']:.0f} MB)"
                )


if __name__ == "__main__":
    asyncio.run(main())

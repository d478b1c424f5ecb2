"""`cdht report`, `cdht list` and `cdht export --format xlsx` on a seeded database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openpyxl
import pytest

from bot.__main__ import main
from bot.app import build_app
from bot.config import load_settings
from tests.flows.test_reports import LE_CHAN, seed


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDHT_CAMPAIGN_YEAR", "2026")
    monkeypatch.delenv("CDHT_DATABASE_URL", raising=False)

    async def fill() -> None:
        app = build_app(load_settings())
        await app.migrate()
        async with app.store.transaction() as uow:
            await seed(uow)
        await app.close()

    asyncio.run(fill())
    return tmp_path


def test_report_as_an_aligned_table_and_as_excel(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Báo cáo Công dân học tập năm 2026"
    assert sum(1 for line in lines if line.startswith(("Phường ", "Xã ", "Đặc khu "))) == 114
    total = next(line for line in lines if line.startswith("Toàn thành phố"))
    assert total.split()[3:11] == ["8", "1", "5", "1", "1", "2", "1", "25.0%"]
    assert "Người trưởng thành đạt danh hiệu" in out
    assert main(["report", "--ward", LE_CHAN, "--locale", "en"]) == 0
    english = capsys.readouterr().out
    assert english.startswith("Learning Citizen report, 2026")
    assert "Phường Lê Chân" in english and "Phường Ngô Quyền" not in english
    assert main(["report", "--format", "xlsx", "--output", str(seeded / "r.xlsx")]) == 0
    book = openpyxl.load_workbook(seeded / "r.xlsx")
    assert book.sheetnames == ["Theo phường, xã", "Theo đối tượng", "Chỉ tiêu QĐ 677"]
    assert main(["report", "--ward", "99999"]) == 2
    assert "unknown unit code: 99999" in capsys.readouterr().err


def test_lists_on_the_command_line(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "proposed", "--ward", LE_CHAN]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[:2] == ["STT", "Họ và tên"]
    assert [line.split("\t")[1] for line in out[1:]] == ["Người 3", "Người 4"]
    assert main(["list", "not-started", "--format", "xlsx", "--output", "n.xlsx"]) == 0
    rows = list(openpyxl.load_workbook(seeded / "n.xlsx").active.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["Người 7", "Người 5"]  # Ngô Quyền: only 2025
    assert main(["list", "waiting", "--days", "3"]) == 0
    assert "Người 1" in capsys.readouterr().out


def test_export_xlsx_in_english(seeded: Path) -> None:
    assert main(["export", "--format", "xlsx", "--locale", "en", "--output", "e.xlsx"]) == 0
    book = openpyxl.load_workbook(seeded / "e.xlsx")
    assert book.sheetnames == ["Citizens", "By unit"]
    rows = list(book["Citizens"].iter_rows(values_only=True))
    assert rows[0][:3] == ("ID", "Full name", "Year of birth")
    assert len(rows) == 1 + 8  # one row per citizen and declaration (one of last year)
    status = rows[0].index("Status")
    assert {row[status] for row in rows[1:]} >= {"Recognised", "Pending review", None}
    assert main(["export", "--format", "xlsx"]) == 2  # a workbook needs a file

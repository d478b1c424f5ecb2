"""`cdht report`, `cdht list` and `cdht export --format xlsx` on a seeded database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openpyxl
import pytest

from bot.__main__ import main
from bot.app import build_app
from bot.config import load_settings
from tests.flows.test_reports import LE_CHAN, assert_printable, seed, table


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
    assert lines[1] == "Số liệu chỉ tính người đồng ý cho dùng dữ liệu để thống kê."
    assert sum(1 for line in lines if line.startswith(("Phường ", "Xã ", "Đặc khu "))) == 114
    total = next(line for line in lines if line.startswith("Toàn thành phố"))
    assert total.split()[3:11] == ["8", "1", "5", "1", "1", "2", "1", "25,0%"]
    assert "Người trưởng thành được đề nghị công nhận" in out
    assert main(["report", "--ward", LE_CHAN, "--locale", "en"]) == 0
    english = capsys.readouterr().out
    assert english.startswith("Learning Citizen report, 2026")
    assert "Phường Lê Chân" in english and "Phường Ngô Quyền" not in english
    assert main(["report", "--format", "xlsx", "--output", str(seeded / "r.xlsx")]) == 0
    book = openpyxl.load_workbook(seeded / "r.xlsx")
    assert book.sheetnames == ["Theo phường, xã", "Theo đối tượng", "Chỉ tiêu QĐ 677", "Xét duyệt"]
    above, rows, _ = table(book["Theo phường, xã"])
    assert above[:2] == ["BÁO CÁO CÔNG DÂN HỌC TẬP NĂM 2026", "Đơn vị: Thành phố Hải Phòng"]
    units = [row[0] for row in rows[1:-1]]
    assert len(units) == 114 and units.index("Phường Ái Quốc") < units.index("Phường Việt Hòa")
    assert rows[-1][:3] == ("Toàn thành phố", 8, 1)
    for sheet in book.worksheets:
        assert_printable(sheet)
    assert main(["report", "--ward", "99999"]) == 2
    assert "unknown unit code: 99999" in capsys.readouterr().err


def test_lists_on_the_command_line(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "proposed", "--ward", LE_CHAN]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[:2] == ["STT", "Họ và tên"]
    assert [line.split("\t")[1] for line in out[1:]] == ["Người 3", "Người 4"]
    assert main(["list", "not-started", "--format", "xlsx", "--output", "n.xlsx"]) == 0
    sheet = openpyxl.load_workbook(seeded / "n.xlsx").active
    above, rows, after = table(sheet)
    assert above[:2] == [
        "DANH SÁCH NGƯỜI ĐÃ ĐĂNG KÝ, CHƯA TỰ ĐÁNH GIÁ NĂM 2026",
        "Đơn vị: Thành phố Hải Phòng",
    ]
    # Lê Chân before Ngô Quyền (whose Người 7 declared only in 2025): units by name
    assert [(row[1], row[3]) for row in rows[1:]] == [
        ("Người 5", "Phường Lê Chân"), ("Người 7", "Phường Ngô Quyền")
    ]  # fmt: skip
    assert after[:3] == [
        "Hải Phòng, ngày …… tháng …… năm ……",
        "NGƯỜI LẬP BIỂU",
        "XÁC NHẬN CỦA HỘI KHUYẾN HỌC THÀNH PHỐ HẢI PHÒNG",
    ]
    assert_printable(sheet)
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
    assert {row[status] for row in rows[1:]} >= {
        "Verified, proposed for recognition",
        "Pending review",
        None,
    }
    assert {row[rows[0].index("Channel")] for row in rows[1:]} == {"Telegram"}
    assert book["Citizens"].oddFooter.center.text == "Page &P of &N"
    assert main(["export", "--format", "xlsx"]) == 2  # a workbook needs a file

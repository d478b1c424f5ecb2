"""A ward office's list as a document to print and sign (issue 17, item 4): title, unit, date,
the table with its header repeated on every A4 landscape page, then the place and date line and
the two signature blocks; in the reader's language; what the caller does not know is left as
dots to fill in by hand."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl

from bot.domain.wards import WardDirectory
from bot.i18n import Translator
from bot.services.lists import write_list
from bot.services.spreadsheet import list_workbook
from tests.flows.test_reports import assert_printable, table, title_rows

MADE = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)  # already 1 January 2027 in Hải Phòng
ROWS = [[n, f"Người {n}", "Phường Lê Chân", "Tổ 5"] for n in range(1, 61)]


def read(data: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_several_wards_in_english() -> None:
    wards = WardDirectory.from_package(31)
    buffer = io.BytesIO()
    rows = [
        [n, f"Person {n}", 1970, "Ward", "Group 5", "0912 345 678", "Zalo", None] for n in (1, 2)
    ]
    written = write_list(
        buffer, "not_started", rows, scope={"10543", "10660"}, year=2026, days=7, wards=wards,
        say=Translator("vi"), locale="en", made_at=MADE,
    )  # fmt: skip
    assert written == 2
    sheet = read(buffer.getvalue())
    above, found, after = table(sheet)
    assert above == [
        "REGISTERED, NOT YET SELF-ASSESSED IN 2026",
        "Unit: Phường Ái Quốc, Phường Việt Hòa",  # Vietnamese order, not the codes'
        "Prepared on 01/01/2027",  # Viet Nam's date
    ]
    assert found[0][:2] == ("No.", "Full name")
    assert [row[1] for row in found[1:]] == ["Person 1", "Person 2"]
    assert after == [
        "…………………, date: ……/……/……",
        "PREPARED BY", "CONFIRMED BY THE STUDY PROMOTION ASSOCIATION OF WARD/COMMUNE ……………",
        "(Signature and full name)", "(Signature and full name)",
        "Name: ……………………………", "Name: ……………………………",
    ]  # fmt: skip
    assert sheet.title == "Registered, not started"
    assert_printable(sheet)
    assert sheet.oddFooter.center.text == "Page &P of &N"


def test_a_list_from_a_caller_that_gives_only_the_table() -> None:
    """The former call (title, headers, widths, rows): still a document to file, in Vietnamese,
    with the unit and the place left to write by hand."""
    buffer = io.BytesIO()
    headers = ["STT", "Họ và tên", "Phường/xã", "Tổ dân phố/thôn"]
    written = list_workbook(buffer, "Danh sách đề nghị công nhận", headers, [6, 26, 24, 18], ROWS)
    assert written == 60
    sheet = read(buffer.getvalue())
    above, found, after = table(sheet)
    assert above[:2] == ["DANH SÁCH ĐỀ NGHỊ CÔNG NHẬN", "Đơn vị: …………………"]
    assert above[2].startswith("Ngày lập: ")
    assert len(found) == 61 and found[-1][1] == "Người 60"
    assert after[:3] == [
        "…………………, ngày …… tháng …… năm ……",
        "NGƯỜI LẬP BIỂU",
        "XÁC NHẬN CỦA HỘI KHUYẾN HỌC …………………",
    ]
    assert_printable(sheet)
    assert title_rows(sheet) == "5:5"  # the header, under title, unit, date and a blank line
    assert sheet.freeze_panes == "C6"
    assert sheet.auto_filter.ref == "A5:D65"
    merged = {str(cells) for cells in sheet.merged_cells.ranges}
    assert {"A1:D1", "A2:D2", "A3:D3"} <= merged  # the heading spans the table

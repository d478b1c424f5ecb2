"""Spreadsheet cells are neutralised against formula injection (OWASP "CSV Injection")."""

from __future__ import annotations

import pytest

from bot.services.export import render_csv, spreadsheet_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+84912345678", "'+84912345678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Tổ dân phố = 5", "Tổ dân phố = 5"),  # only a leading trigger is a formula
        (-3, -3),  # numbers stay numbers
        (None, ""),
    ],
)
def test_cells_that_would_be_formulas_become_text(value: object, cell: object) -> None:
    assert spreadsheet_cell(value) == cell


def test_every_column_of_the_csv_is_neutralised() -> None:
    record = {"full_name": "=cmd|' /C calc'!A0", "workplace": "@evil", "scores": {"1": 9}}
    text = render_csv([record], [1])
    assert "'=cmd|' /C calc'!A0" in text
    assert "'@evil" in text

from __future__ import annotations

import pytest

from bot.engine import Choice, fold, match_choice

CHOICES = (
    Choice("g1", "Người dân ở xã/phường"),
    Choice("g2", "Người lao động"),
    Choice("g3", "Cán bộ, công nhân viên, doanh nhân"),
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2", "g2"),
        (" 3 ", "g3"),
        ("Người lao động", "g2"),
        ("NGUOI LAO DONG", "g2"),
        ("nguoi lao dong", "g2"),
        ("Người Lao Động!", "g2"),
        ("can bo", "g3"),  # a unique beginning of a label
        ("nguoi", None),  # begins two labels
        ("4", None),
        ("0", None),
        ("", None),
        ("lao", None),
    ],
)
def test_match_by_number_label_or_folded_label(typed: str, expected: str | None) -> None:
    matched = match_choice(typed, CHOICES)
    assert (matched.id if matched else None) == expected


def test_fold_removes_diacritics_and_d_bar() -> None:
    assert fold("  Đặc khu  Bạch Long Vĩ ") == "dac khu bach long vi"
    assert fold("Thuỷ Nguyên") == fold("Thủy Nguyên") == "thuy nguyen"

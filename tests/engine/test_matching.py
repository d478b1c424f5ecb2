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


SCORES = (*(Choice(f"s{n}", str(n)) for n in range(11)), Choice("skip", "Để sau"))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("7", "s7"), ("0", "s0"), ("10", "s10"), ("-1", None), ("7.5", None), ("11", None),
     ("de sau", "skip"), ("12", None)],
)  # fmt: skip
def test_numbers_mean_scores_when_choices_are_numbers(typed: str, expected: str | None) -> None:
    matched = match_choice(typed, SCORES, by_index=False)
    assert (matched.id if matched else None) == expected

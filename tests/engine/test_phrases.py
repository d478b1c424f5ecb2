"""The phrasings people type, as a table in both languages (the data is bot/engine/phrases.json)."""

from __future__ import annotations

import pytest

from bot.engine.phrases import phrases


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("8", 8), ("tám", 8), ("Tám", 8), ("tam", 8), ("mười", 10), ("muoi", 10), ("không", 0),
        ("8 điểm", 8), ("điểm 8", 8), ("8đ", 8), ("8 đ", 8), ("8d", 8), ("8/10", 8),
        ("8 trên 10", 8), ("được 7 điểm", 7), ("tự chấm 9 điểm ạ", 9), ("chín ạ", 9),
        ("bảy", 7), ("bẩy", 7), ("năm", 5), ("eight", 8), ("Ten", 10), ("9 points", 9),
        ("7.5", None), ("7,5", None), ("8 9", None), ("tám chín", None), ("hai mươi", None),
        ("điểm", None), ("", None), ("Tổ 5", None),
    ],
)  # fmt: skip
def test_scores_in_digits_words_and_with_units(typed: str, number: int | None) -> None:
    assert phrases().number(typed) == number


@pytest.mark.parametrize(
    ("typed", "year"),
    [
        ("1952", "1952"), ("1952.", "1952"), ("năm 1952", "1952"), ("sinh năm 1952 ạ", "1952"),
        ("Năm sinh: 1952", "1952"), ("born in 1990", "1990"), ("52", None), ("năm 52", None),
        ("1952 1953", None), ("mười chín năm hai", None),
    ],
)  # fmt: skip
def test_years_in_a_sentence(typed: str, year: str | None) -> None:
    assert phrases().year(typed) == year


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("có", "yes"), ("Có", "yes"), ("co", "yes"), ("đồng ý", "yes"), ("dong y", "yes"),
        ("đồng ý ạ", "yes"), ("Đồng ý nhé!", "yes"), ("vâng", "yes"), ("dạ vâng", "yes"),
        ("ừ", "yes"), ("ok", "yes"), ("OK!", "yes"), ("oke", "yes"), ("được", "yes"),
        ("đúng", "yes"), ("đúng rồi", "yes"), ("yes", "yes"), ("I agree", "yes"),
        ("không", "no"), ("khong", "no"), ("ko", "no"), ("không đồng ý", "no"),
        ("Không đồng ý ạ", "no"), ("chưa", "no"), ("no", "no"), ("not yet", "no"),
        ("Dũng", None), ("dung", None), ("Nguyễn Văn Có", None), ("có lẽ", None), ("", None),
    ],
)  # fmt: skip
def test_yes_and_no_in_both_languages(typed: str, intent: str | None) -> None:
    assert phrases().intent(typed) == intent


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("đăng ký", "start"), ("dang ky", "start"), ("tự đánh giá", "declare"),
        ("khai", "declare"), ("trạng thái", "status"), ("trang thai", "status"),
        ("hồ sơ", "profile"), ("trợ giúp", "help"), ("hủy", "cancel"), ("huỷ", "cancel"),
        ("quay lại", "back"), ("quay lai", "back"), ("dừng", "stop"), ("Dừng", "stop"),
        ("dừng lại", "stop"), ("help", "help"), ("stop", "stop"),
        # folded forms that collide with words and names are commands only as written
        ("Đúng", None), ("Dũng", None), ("dung", None), ("Huy", None), ("huy", None),
        ("Khải", None),
        # only a whole message is a command
        ("tôi muốn dừng", None), ("Trả 2 cuốn sách cho thư viện", None), ("hồ sơ #12", None),
    ],
)  # fmt: skip
def test_command_words_are_whole_messages(typed: str, command: str | None) -> None:
    assert phrases().command(typed) == command


@pytest.mark.parametrize(
    ("typed", "dont_know"),
    [("không biết", True), ("ko biet", True), ("?", True), ("là sao?", True),
     ("I don't know", True), ("Tổ 5", False), ("8", False)],
)  # fmt: skip
def test_dont_know(typed: str, dont_know: bool) -> None:
    assert phrases().is_dont_know(typed) is dont_know

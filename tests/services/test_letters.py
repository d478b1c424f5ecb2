"""The recognition letter's page, read back from the PDF: every line inside the frame on one
page whatever the length of the name, the ward and the configured head; the QR code and the
link only with a public address; the name as stored; no fontTools chatter in the log."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.flows.letter import letter_texts
from bot.i18n import Translator
from bot.services.letters import Letter, render_pdf, ward_in_sentence
from tests.services.letters_pdf import ReadLetter, assert_fits, read_letter

SAY = Translator("vi")
DECIDED = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # 09:00 in Viet Nam
PRINTED = datetime(2026, 3, 6, 3, 0, tzinfo=UTC)
URL = "https://cdht.example.vn/v/12.0123456789abcdef01234567"

LONG_NAME = "Tôn Nữ Hoàng Thị Phương Khánh Huyền Ngọc Bích Thùy Dương Minh Châu Bảo Ngọc Trâm"
LONG_WARD = "Phường " + " ".join(
    ["Nguyễn Văn Linh Hồ Sen Cầu Rào Dư Hàng Kênh Trần Nguyên Hãn"] * 2
)
LONG_LINE = "HỘI KHUYẾN HỌC THÀNH PHỐ HẢI PHÒNG VÀ CÁC PHƯỜNG, XÃ, ĐẶC KHU TRỰC THUỘC THÀNH PHỐ"
LONG_VERIFIER = "Nguyễn Văn Anh Dũng, cán bộ Hội Khuyến học " + LONG_WARD


def letter(
    *,
    name: str = "Nguyễn Thị Hồng Nhung",
    ward: str = "Phường Lê Chân",
    url: str | None = URL,
    verifier: str | None = "Vũ Thị Mai",
) -> Letter:
    token = "12.0123456789abcdef01234567"
    return Letter(token, name, ward, 2026, 91, DECIDED, url, verifier)


def made(
    made_for: Letter,
    locale: str = "vi",
    header: Sequence[str] = (),
    issuer: Sequence[str] = ("Hội Khuyến học thành phố Hải Phòng",),
) -> ReadLetter:
    texts = letter_texts(
        SAY, locale, made_for, max_total=100, province="Thành phố Hải Phòng", printed=PRINTED
    )
    return read_letter(render_pdf(made_for, texts, header=header, issuer=issuer))


def test_the_footer_of_the_usual_letter_stays_inside_its_frame() -> None:
    """At ee453cd the footer was one cell wider than the page."""
    read = made(letter())
    assert_fits(read)
    footer = read.lines[-1]
    assert footer.text.endswith("«Còn hiệu lực».")


LONG_CASES = [
    pytest.param(locale, url, id=f"{locale}-{'link' if url else 'no-link'}")
    for locale in ("vi", "en")
    for url in (URL, None)
]


@pytest.mark.parametrize(("locale", "url"), LONG_CASES)
def test_long_names_wards_and_heads_stay_inside_the_frame_on_one_page(
    locale: str, url: str | None
) -> None:
    long = letter(name=LONG_NAME, ward=LONG_WARD, url=url, verifier=LONG_VERIFIER)
    read = made(long, locale, header=(LONG_LINE,) * 4, issuer=(LONG_LINE,) * 4)
    assert_fits(read)
    assert LONG_NAME in read.text  # wrapped, not cut
    assert " ".join(LONG_WARD.split()) in read.text
    assert read.text.count(LONG_LINE) == 8


def test_without_a_public_address_there_is_no_qr_code_and_no_link_to_open() -> None:
    read = made(letter(url=None))
    assert read.squares == []
    for absent in ("QR", "quét", "http", "/v/", "trang kiểm tra"):
        assert absent not in read.text
    assert (
        "Để kiểm tra giấy này, xin liên hệ Hội Khuyến học phường Lê Chân và cung cấp mã giấy: "
        "12.0123456789abcdef01234567" in read.text
    )
    assert_fits(read)


def test_with_a_public_address_the_qr_code_and_the_link_are_there() -> None:
    read = made(letter())
    assert len(read.squares) > 100  # the QR code's dark modules
    assert f"Kiểm tra giấy này: quét mã QR hoặc mở {URL} Mã giấy:" in read.text
    assert "chỉ có giá trị khi trang kiểm tra báo «Còn hiệu lực»." in read.text


def test_the_english_letter_claims_no_more_either() -> None:
    read = made(letter(), "en")
    assert (
        "The citizen's 2026 self-assessment against the «Learning Citizen» criteria was verified"
        " by the Study Promotion Association of Phường Lê Chân on 05/03/2026, with a total of "
        "91/100." in read.text
    )
    assert "The citizen is proposed for recognition as a «Learning Citizen» for 2026." in read.text
    assert (
        "This letter does not replace the recognition decision of the competent authority."
        in read.text
    )
    assert "holds the title" not in read.text


@pytest.mark.parametrize(
    "stored", ["Nguyễn thị hoa", "ĐỖ VĂN NAM", "Lê Thị Mai-Anh", "H'Hen Niê", "Nguyễn Văn A"]
)
def test_the_name_is_printed_exactly_as_stored(stored: str) -> None:
    read = made(letter(name=stored))
    texts = [line.text for line in read.lines]
    under = texts.index("Cấp cho công dân") + 1
    assert texts[under] == stored
    assert read.lines[under].bold


def test_a_ward_reads_in_lower_case_inside_a_vietnamese_sentence_only() -> None:
    assert ward_in_sentence("Phường Lê Chân", "vi") == "phường Lê Chân"
    assert ward_in_sentence("Xã An Lão", "vi") == "xã An Lão"
    assert ward_in_sentence("Đặc khu Cát Hải", "vi") == "đặc khu Cát Hải"
    assert ward_in_sentence("Phường Lê Chân", "en") == "Phường Lê Chân"
    assert ward_in_sentence("Xãi Lê", "vi") == "Xãi Lê"  # a level word only as a whole word


def test_an_operator_who_wants_fonttools_logs_keeps_them(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        caplog.set_level(logging.INFO)
        made(letter())
        assert any(r.name.startswith("fontTools") for r in caplog.records)
    finally:
        logger.setLevel(level)

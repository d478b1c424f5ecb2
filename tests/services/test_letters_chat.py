"""The letter as the citizen gets it in the chat (/giayxacnhan after the coordinator's
approval), read back from the PDF: the ward verified the self-assessment and proposes the
citizen for recognition; the paper does not replace the recognition decision; no letter for a
declaration that does not pass the rule; the head is configuration with a neutral default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from bot.flows.common import local_date
from tests.chat import Chat, register
from tests.conftest import make_settings, started_app
from tests.services.letters_pdf import ReadLetter, assert_fits, read_letter
from tests.verification_helpers import (
    RecordingDeliverer,
    coordinator,
    declaration_id,
    sender,
)

# 91/100, every indicator at 9 or more but one: passes (total ≥ 80, none under 5)
PASSING = {i: 9 for i in range(1, 11)} | {10: 10}
# 76/100: fails the rule's total; a coordinator may still approve it (the result is recorded)
FAILING = {i: 8 for i in range(1, 9)} | {9: 6, 10: 6}
NAME = "Nguyễn Thị Hồng Nhung"
AWARD_CLAIMS = ("đạt danh hiệu", "được công nhận danh hiệu", "đã được công nhận", "công nhận là")


async def submitted(app: App, scores: dict[int, int], name: str = NAME) -> Chat:
    """A citizen of Phường Lê Chân submits these scores (below the rule: «Vẫn nộp»)."""
    citizen = Chat(app.engine, user="citizen")
    await register(citizen, name=name)
    await citizen.send("/declare")
    await citizen.press("begin")
    for _, score in sorted(scores.items()):
        await citizen.send(str(score))
        await citizen.press("none")
    await citizen.press("submit")
    if sum(scores.values()) < 80:
        citizen.expect("chưa thể được đề nghị công nhận")
        await citizen.press("Vẫn nộp")
    citizen.expect("Đã nộp")
    return citizen


async def approved(
    app: App, scores: dict[int, int], name: str = NAME, by: str = "Vũ Thị Mai"
) -> Chat:
    """The citizen, whose declaration the ward's coordinator approved."""
    coord = await coordinator(app, "coord", name=by)
    citizen = await submitted(app, scores, name)
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("approve")
    await coord.press("confirm")
    async with app.store.transaction() as uow:
        decided = await uow.declarations.get(number)
    assert decided is not None and decided.decision == "approved"
    return citizen


async def delivered(app: App, user: str) -> RecordingDeliverer:
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    return deliverer


async def letter_of(app: App, citizen: Chat) -> ReadLetter:
    await citizen.send("/giayxacnhan")
    deliverer = await delivered(app, citizen.user)
    (pdf,) = [d.file for d in deliverer.to(citizen.user) if d.file is not None]
    assert pdf is not None and pdf.path.read_bytes().startswith(b"%PDF-")
    return read_letter(pdf.path.read_bytes())


async def decided_on(app: App) -> str:
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    assert declaration.decided_at is not None
    return local_date(declaration.decided_at)


async def test_the_letter_says_verified_and_proposed_never_awarded(app: App) -> None:
    citizen = await approved(app, PASSING)
    read = await letter_of(app, citizen)
    citizen.expect("Giấy xác nhận năm", "được gửi kèm ngay sau đây")
    date = await decided_on(app)
    text = read.text
    assert text.startswith(
        "Hội Khuyến học thành phố Hải Phòng GIẤY XÁC NHẬN "
        "Kết quả tự đánh giá «Công dân học tập» năm "
    )
    assert "Cấp cho công dân Nguyễn Thị Hồng Nhung Phường Lê Chân, Thành phố Hải Phòng" in text
    assert (
        "theo bộ tiêu chí «Công dân học tập» của công dân đã được Hội Khuyến học phường Lê Chân "
        f"xác nhận ngày {date}, với tổng điểm 91/100." in text
    )
    assert "Người xác nhận: Vũ Thị Mai." in text
    assert "Công dân được đề nghị công nhận danh hiệu «Công dân học tập» năm" in text
    assert (
        "Giấy này không thay thế quyết định công nhận danh hiệu của cơ quan có thẩm quyền." in text
    )
    assert [claim for claim in AWARD_CLAIMS if claim in text] == []
    # a neutral head by default: no national motto unless an operator configures one
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" not in text
    assert "Độc lập - Tự do - Hạnh phúc" not in text
    # no public address here: nothing to scan or open, and whom to ask instead
    assert read.squares == []
    assert [word for word in ("QR", "quét", "http", "trang kiểm tra") if word in text] == []
    assert "Để kiểm tra giấy này, xin liên hệ Hội Khuyến học phường Lê Chân" in text
    assert "/v/" not in citizen.text
    assert_fits(read)


async def test_a_long_name_and_the_coordinators_long_signature_stay_inside_the_frame(
    tmp_path: Path,
) -> None:
    """At ee453cd the footer alone ran past the frame on both sides."""
    app = await started_app(make_settings(tmp_path, public_base_url="https://cdht.example.vn"))
    try:
        name = "Tôn Nữ Hoàng Thị Phương Khánh Huyền Ngọc Bích Thùy Dương Minh Châu Bảo Ngọc Trâm"
        signature = "Nguyễn Văn Anh Dũng, cán bộ Hội Khuyến học phường Lê Chân, " * 2
        citizen = await approved(app, PASSING, name=name, by=signature.strip(" ,"))
        read = await letter_of(app, citizen)
        assert_fits(read)
        assert name in read.text
    finally:
        await app.close()


async def test_with_a_public_address_the_letter_has_its_qr_code_and_link(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, public_base_url="https://cdht.example.vn"))
    try:
        citizen = await approved(app, PASSING)
        read = await letter_of(app, citizen)
        (url,) = [w for w in citizen.text.split() if w.startswith("https://cdht.example.vn/v/")]
        assert f"Kiểm tra giấy này: quét mã QR hoặc mở {url} Mã giấy:" in read.text
        assert len(read.squares) > 100  # the QR code's modules
        assert "Giấy này không thay thế quyết định công nhận danh hiệu" in read.text
        assert_fits(read)
    finally:
        await app.close()


async def test_an_approved_declaration_that_fails_the_rule_gets_no_letter(app: App) -> None:
    """A coordinator may approve 76/100: that records «not recognised», offers no letter's
    button and produces no letter."""
    citizen = await approved(app, FAILING)
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    assert (declaration.decision, declaration.status) == ("approved", "not_recognised")
    note = (await delivered(app, citizen.user)).to(citizen.user)
    assert note and all("/giayxacnhan" not in d.choices for d in note)
    await citizen.send("/giayxacnhan")
    citizen.expect("chưa có giấy xác nhận")
    assert [d for d in (await delivered(app, citizen.user)).sent if d.file is not None] == []


async def test_a_recognised_declaration_whose_verified_scores_fail_the_rule_gets_no_letter(
    app: App,
) -> None:
    """Whatever its recorded status, a letter claims a proposal only for verified scores that
    pass the rule (here indicator 2 verified at 3 after the approval)."""
    citizen = await approved(app, PASSING)
    await delivered(app, citizen.user)
    number = await declaration_id(app)
    async with app.store.transaction() as uow:
        await uow.declarations.set_verified(number, 2, 3, "Chưa có kế hoạch học tập")
    await citizen.send("/giayxacnhan")
    citizen.expect("chưa có giấy xác nhận")
    assert [d for d in (await delivered(app, citizen.user)).sent if d.file is not None] == []


async def test_the_head_of_the_letter_is_configuration(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        letter_header="CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM|Độc lập - Tự do - Hạnh phúc",
        letter_issuer="HỘI KHUYẾN HỌC THÀNH PHỐ HẢI PHÒNG\nHỘI KHUYẾN HỌC PHƯỜNG LÊ CHÂN",
    )
    app = await started_app(settings)
    try:
        read = await letter_of(app, await approved(app, PASSING))
        assert [line.text for line in read.lines[:5]] == [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "HỘI KHUYẾN HỌC THÀNH PHỐ HẢI PHÒNG",
            "HỘI KHUYẾN HỌC PHƯỜNG LÊ CHÂN",
            "GIẤY XÁC NHẬN",
        ]
        assert "Hội Khuyến học thành phố Hải Phòng" not in read.text  # the issuer replaced
        assert_fits(read)
    finally:
        await app.close()


@pytest.fixture
def fonttools_as_shipped() -> Iterator[None]:
    """fontTools' logger as a fresh process has it (level not set), whatever ran before."""
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.NOTSET)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("fonttools_as_shipped")
async def test_giayxacnhan_logs_nothing_from_fonttools_at_info(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """At ee453cd, with the root logger at INFO as `cdht console` has it, fpdf2's font
    subsetting printed about 75 fontTools lines into the terminal among the chat."""
    citizen = await approved(app, PASSING)
    caplog.set_level(logging.INFO)
    await letter_of(app, citizen)
    chatter = [r for r in caplog.records if r.name.startswith("fontTools")]
    assert [r.getMessage() for r in chatter if r.levelno <= logging.INFO] == []

"""The self-declaration as conversations through the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import App
from bot.engine import FileRef
from bot.services.evidence import FetchFailed, TooLarge
from tests.chat import Chat, register
from tests.conftest import make_settings, started_app

JPEG = b"\xff\xd8\xff\xe0" + b"library card photo" * 20
JPEG_2 = b"\xff\xd8\xff\xe0" + b"course certificate" * 20
PDF = b"%PDF-1.7\n" + b"learning plan" * 20
HUGE = b"\xff\xd8\xff" + bytes(11 * 1024 * 1024)  # over the 10 MB limit
FILES = {"photo-1": JPEG, "photo-2": JPEG_2, "plan.pdf": PDF, "doc.zip": b"PK\x03\x04zip"}


def with_fake_files(app: App, fail: list[str] | None = None) -> None:
    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        if fail:
            fail.pop()
            raise FetchFailed("connection reset")
        data = FILES.get(file.file_id, HUGE)
        if len(data) > max_bytes:
            raise TooLarge(file.file_id)
        return data

    app.evidence.register("test", fetch)


@pytest.fixture
async def citizen(app: App) -> Chat:
    with_fake_files(app)
    chat = Chat(app.engine)
    await register(chat)
    return chat


def photo(file_id: str = "photo-1") -> FileRef:
    return FileRef(file_id, "photo", "image/jpeg")


async def score_all(chat: Chat, scores: dict[int, int], start: bool = True) -> None:
    """Score the indicators in order, with no evidence, ending at the review."""
    if start:
        await chat.send("/declare")
        await chat.press("begin")
    for indicator in sorted(scores):
        chat.expect(f"Chỉ số {indicator}/10")
        await chat.send(str(scores[indicator]))
        await chat.press("none")


async def declaration_rows(app: App) -> list[dict[str, object]]:
    from bot.services.export import export_records

    return await export_records(app.store, app.services.criteria)


async def test_a_complete_declaration_with_evidence(any_app: App) -> None:
    with_fake_files(any_app)
    chat = Chat(any_app.engine)
    await register(chat)
    await chat.send("/declare")
    chat.expect("10 chỉ số", "khoảng 10 phút", "/declare", choices=["begin", "later"])
    await chat.press("begin")
    chat.expect("Chỉ số 1/10", "Tự học và học tập suốt đời", "Đọc sách", "💡")
    assert chat.prompt is not None
    assert chat.prompt.numeric
    assert chat.choice_ids[:11] == [f"s{n}" for n in range(11)]
    await chat.press("8")
    chat.expect(
        "Minh chứng cho chỉ số 1",
        "màn hình VNeID: nhớ che số định danh",  # evidence never needs an ID number shown
        choices=["done", "none", "back", "leave"],
    )
    await chat.send_file(photo())
    chat.expect("Đã nhận tệp (1/5)")
    await chat.send_file(FileRef("plan.pdf", "document", "application/pdf", name="kế hoạch.pdf"))
    chat.expect("Đã nhận tệp (2/5)")
    await chat.send("Tôi đọc báo Hải Phòng mỗi sáng")
    chat.expect(
        "Đã lưu mô tả cho chỉ số 1: «Tôi đọc báo Hải Phòng mỗi sáng».",
        "Mô tả: Tôi đọc báo Hải Phòng mỗi sáng",
    )
    await chat.press("done")
    chat.expect("Chỉ số 2/10")
    await score_all(chat, {i: 9 for i in range(2, 11)}, start=False)
    chat.expect(
        "1. Đọc, cập nhật thông tin: 8 điểm · 3 minh chứng",
        "\n10. Hợp tác, chia sẻ: 9 điểm\n",  # no evidence: not mentioned
        "Tổng điểm: 89/100",
        "Kết quả tạm tính: Đạt",
        choices=["submit", "edit", "leave"],
    )
    await chat.press("submit")
    chat.expect("Đã nộp", "89/100")

    await chat.send("/declare")
    chat.expect("đang chờ cán bộ phường/xã xác nhận")
    await chat.send("/status")
    chat.expect("Đã nộp bản tự đánh giá năm", "đang chờ")

    async with any_app.store.transaction() as uow:
        identity = await uow.identities.get("test", chat.user)
        assert identity is not None
        assert identity.subject_id is not None
        declaration = await uow.declarations.latest(identity.subject_id)
        assert declaration is not None
        evidence = await uow.declarations.evidence(declaration.id)
    assert declaration.status == "submitted"
    assert declaration.criteria_set == "qd324-2023"
    assert [(e.indicator, e.kind, e.mime_type) for e in evidence] == [
        (1, "photo", "image/jpeg"),
        (1, "document", "application/pdf"),
    ]
    assert evidence[1].original_name == "kế hoạch.pdf"
    assert evidence[1].size == len(PDF)
    for item in evidence:
        assert any_app.evidence.path(item.sha256).exists()

    (row,) = await declaration_rows(any_app)
    assert row["declaration_status"] == "submitted"
    assert row["total"] == 89
    assert row["evidence_count"] == 3
    assert row["provisional_result"] == "recognised"
    assert row["scores"] == {"1": 8, **{str(i): 9 for i in range(2, 11)}}
    assert row["submitted_at"] is not None


async def test_bad_scores_get_a_clear_reask(citizen: Chat) -> None:
    await citizen.send("/declare")
    await citizen.press("begin")
    for typed, reason in [
        ("11", "từ 0 đến 10"),
        ("-1", "từ 0 đến 10"),
        ("nhiều lắm", "từ 0 đến 10"),
        ("7.5", "số nguyên"),
        ("7,5", "số nguyên"),
    ]:
        await citizen.send(typed)
        citizen.expect(reason, "Chỉ số 1: tự chấm bao nhiêu điểm (từ 0 đến 10)?")
        assert "Đọc sách" not in citizen.text  # the short question, not the whole indicator
    await citizen.send("10")
    citizen.expect("Minh chứng cho chỉ số 1")


async def test_back_skip_and_edit_from_the_review(citizen: Chat) -> None:
    await citizen.send("/declare")
    await citizen.press("begin")
    await citizen.send("9")
    await citizen.press("none")
    await citizen.press("back")  # from indicator 2 back to 1
    citizen.expect("Chỉ số 1/10", "Điểm hiện tại: 9")
    await citizen.send("10")
    await citizen.press("done")
    await citizen.press("skip")  # indicator 2 for now
    citizen.expect("Chỉ số 3/10")
    await score_all(citizen, {i: 9 for i in range(3, 11)}, start=False)
    citizen.expect(
        "2. Kế hoạch học tập: chưa chấm",
        "chưa tính được: mới chấm 9/10",
        choices=["submit", "continue", "edit", "leave"],
    )
    await citizen.press("submit")
    citizen.expect("Chưa thể nộp: còn thiếu chỉ số 2")
    await citizen.press("continue")
    citizen.expect("Chỉ số 2/10")
    await citizen.send("9")
    await citizen.press("none")
    citizen.expect("Tổng điểm: 91/100", "Đạt")
    await citizen.press("edit")
    await citizen.press("i6")
    citizen.expect("Chỉ số 6/10", "Điểm hiện tại: 9")
    await citizen.send("4")
    citizen.expect(
        "Chỉ số này 4 điểm, dưới 5 điểm: chưa thể được đề nghị công nhận"
    )  # when entered
    await citizen.press("none")
    citizen.expect(
        # and summed up
        "6. Sử dụng ngoại ngữ: 4 điểm ⚠️ dưới 5 điểm: chưa thể được đề nghị công nhận",
        "Tổng điểm: 86/100",
        "Chưa đạt — chỉ số 6 dưới 5 điểm",
        choices=["submit", "edit", "leave"],
    )
    await citizen.press("submit")  # not recognised: a second word before it goes
    citizen.expect("chưa thể được đề nghị công nhận", choices=["submit", "edit", "leave"])
    await citizen.press("edit")
    citizen.expect("Sửa chỉ số nào")


async def test_evidence_limits_and_duplicates_leave_nothing_half_stored(app: App) -> None:
    with_fake_files(app)
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("8")
    await chat.send_file(FileRef("huge", "photo", "image/jpeg"))  # 11 MB, size not declared
    chat.expect("Tệp quá lớn")
    await chat.send_file(FileRef("plan.pdf", "document", "application/pdf", size=50_000_000))
    chat.expect("Tệp quá lớn", "10 MB")
    await chat.send_file(FileRef("doc.zip", "document", "application/zip", name="a.zip"))
    chat.expect("Chỉ nhận ảnh (JPEG, PNG, WebP, HEIC) hoặc tệp PDF")
    await chat.send_file(photo())
    await chat.send_file(photo())
    chat.expect("đã được gửi cho chỉ số này rồi")
    stored = [p for p in app.evidence.root.rglob("*") if p.is_file()]
    assert len(stored) == 1
    async with app.store.transaction() as uow:
        rows = await uow.declarations.evidence(1)
    assert len(rows) == 1


async def test_more_files_than_allowed(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, evidence_max_files=2))
    try:
        with_fake_files(app)
        chat = Chat(app.engine)
        await register(chat)
        await chat.send("/declare")
        await chat.press("begin")
        await chat.send("8")
        await chat.send_file(photo("photo-1"))
        await chat.send_file(photo("photo-2"))
        chat.expect("Đã nhận tệp (2/2)")
        await chat.send_file(FileRef("plan.pdf", "document", "application/pdf"))
        chat.expect("tối đa 2 tệp")
        assert len([p for p in app.evidence.root.rglob("*") if p.is_file()]) == 2
    finally:
        await app.close()


async def test_a_failed_download_asks_to_resend_and_keeps_the_answers(app: App) -> None:
    failures = ["once"]
    with_fake_files(app, failures)
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("7")
    await chat.send_file(photo())
    chat.expect("Chưa tải được tệp", "gửi lại", "Minh chứng cho chỉ số 1")
    await chat.send_file(photo())
    chat.expect("Đã nhận tệp (1/5)")
    await chat.press("back")
    chat.expect("Điểm hiện tại: 7")


async def test_leave_and_resume_after_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = await started_app(settings)
    chat = Chat(first.engine)
    await register(chat)
    await score_all(chat, {1: 8, 2: 7, 3: 9})
    await chat.press("leave")
    chat.expect("Đã lưu: đã chấm 3/10 chỉ số")
    await chat.send("/status")
    chat.expect("đã chấm 3/10 chỉ số")
    await first.close()

    second = await started_app(settings)
    try:
        chat = Chat(second.engine)
        await chat.send("/declare")
        chat.expect("Chỉ số 4/10")
        await chat.press("back")
        chat.expect("Chỉ số 3/10", "Điểm hiện tại: 9")
    finally:
        await second.close()


async def test_status_before_registering_and_before_declaring(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/status")
    chat.expect("Chưa đăng ký")
    await register(chat)
    await chat.send("/status")
    chat.expect("Đã đăng ký ngày", "/declare")
    await chat.send("/declare")
    await chat.press("later")
    chat.expect("gửi /declare để bắt đầu")


async def test_last_years_declaration_does_not_block_this_year(tmp_path: Path) -> None:
    last_year = await started_app(make_settings(tmp_path, campaign_year=2025))
    chat = Chat(last_year.engine)
    await register(chat)
    await score_all(chat, {i: 9 for i in range(1, 11)})
    await chat.press("submit")
    chat.expect("Đã nộp bản tự đánh giá năm 2025")
    await chat.send("/declare")
    chat.expect("đang chờ")
    await last_year.close()

    this_year = await started_app(make_settings(tmp_path, campaign_year=2026))
    try:
        chat = Chat(this_year.engine)
        await chat.send("/declare")
        chat.expect("Tự đánh giá Công dân học tập năm 2026", choices=["begin", "later"])
        await chat.press("begin")
        await chat.send("5")
        rows = await declaration_rows(this_year)
        assert [(r["year"], r["declaration_status"]) for r in rows] == [
            (2025, "submitted"),
            (2026, "draft"),
        ]
    finally:
        await this_year.close()


async def test_a_declaration_survives_in_the_json_export(citizen: Chat, app: App) -> None:
    await score_all(citizen, {i: 4 if i == 3 else 9 for i in range(1, 11)})
    await citizen.press("submit")
    await citizen.send("vẫn nộp")  # the label of the confirmation, typed
    citizen.expect("Đã nộp")
    from bot.cli.reports import export_text

    text, count = await export_text(app.settings, "json", None)
    (row,) = json.loads(text)
    assert count == 1
    assert row["total"] == 85
    assert row["provisional_result"] == "not_recognised"
    assert row["criteria_set"] == "qd324-2023"
    text, _ = await export_text(app.settings, "csv", None)
    header, line = text.splitlines()
    assert "score_1" in header.split(",")
    assert ",4,9,9," in line


async def test_scores_as_people_type_them_and_the_guide_on_request(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("tự đánh giá")  # the Vietnamese command word
    await chat.press("begin")
    typed = ["tám", "mười", "8 điểm", "điểm 8", "8đ", "bảy điểm ạ", "9", "muoi", "5 d", "10"]
    for indicator, text in enumerate(typed, start=1):
        if indicator == 3:
            await chat.send("không biết")  # the indicator's scoring guide, and the question again
            chat.expect("Cách chấm chỉ số 3", "0–4 điểm", "5–7 điểm", "8–10 điểm", "Chỉ số 3: tự")
        if indicator == 4:
            await chat.send("?")
            chat.expect("Cách chấm chỉ số 4", "Chỉ số 4: tự chấm")
        chat.expect(f"Chỉ số {indicator}")
        await chat.send(text)
        chat.expect(f"Minh chứng cho chỉ số {indicator}")
        await chat.press("none")
    chat.expect("Tổng điểm: 83/100")
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        declaration = await uow.declarations.latest(citizen.id)
        assert declaration is not None
        answers = await uow.declarations.answers(declaration.id)
    assert [answers[n].score for n in sorted(answers)] == [
        8, 10, 8, 8, 8, 7, 9, 10, 5, 10,
    ]  # fmt: skip


async def test_a_residents_wording_and_a_pupils_hint(app: App) -> None:
    resident, pupil = Chat(app.engine, user="2001"), Chat(app.engine, user="2002")
    await register(resident, group="g1")
    await register(pupil, name="Phạm Minh Khôi", group="g4")
    for chat in (resident, pupil):
        await chat.send("/declare")
        await chat.press("begin")
        for _ in range(8):  # to indicator 9
            await chat.send("8")
            await chat.press("none")
        chat.expect("Chỉ số 9/10")
    assert "đồng nghiệp" not in resident.text.lower()
    assert "tổ trưởng" not in pupil.text.lower()
    pupil.expect("giáo viên")

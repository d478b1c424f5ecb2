"""What the citizen meant is what is stored, and what the citizen reads is what was decided
(issue 17): the evidence question, natural answers, names, the target group, typed labels,
adjusted scores seen by the citizen, and the consents shown back in /mydata."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.engine import Inbound, InboundKind
from bot.handlers.text_menu import render_menu
from bot.services.export import export_records
from bot.services.letters import verified_by_ward
from tests.chat import DEFAULT_ANSWERS, Chat, answer_until, register
from tests.conftest import make_settings, started_app
from tests.services.test_letters_chat import submitted as submitted_anyway
from tests.verification_helpers import (
    RecordingDeliverer,
    coordinator,
    declaration_id,
    sender,
    submitted,
)


class TypedChat(Chat):
    """A channel without buttons (Zalo, the console): everything is typed."""

    def _inbound(self, kind: InboundKind, **fields: object) -> Inbound:
        fields.setdefault("buttons", False)
        return super()._inbound(kind, **fields)


async def answers(app: App) -> dict[int, tuple[int | None, str | None, int]]:
    """Indicator → (score, note, evidence count) as stored."""
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        stored = await uow.declarations.answers(declaration.id)
    return {n: (a.score, a.note, a.evidence_count) for n, a in stored.items()}


async def at_indicator_1_evidence(app: App, user: str = "1001") -> TypedChat:
    chat = TypedChat(app.engine, user=user)
    await register(chat)
    await chat.send("/declare")
    await chat.send("bắt đầu")
    await chat.send("8")
    chat.expect("Minh chứng cho chỉ số 1")
    return chat


# -- 1. the evidence question keeps what the citizen meant ---------------------------------


async def test_the_worker_who_typed_k_loses_nothing_and_nothing_false_is_saved(app: App) -> None:
    """Seen on main: «k» was saved as indicator 1's description and every later message
    replaced it; «sao cu hoi mai vay» got «Đã lưu phần mô tả.»; «da xong» counted as evidence."""
    chat = await at_indicator_1_evidence(app)
    await chat.send("k")  # chat shorthand for «không»: no evidence
    chat.expect("Chỉ số 2/10")
    await chat.send("9")
    chat.expect("Minh chứng cho chỉ số 2")
    await chat.send("8")  # meant for the next indicator: asked, not stored as a description
    chat.expect("Sửa điểm chỉ số 2 thành 8? (Hiện đang là 9 điểm.) Hay 8 là điểm chỉ số 3?")
    await chat.send("2")  # «Đó là điểm chỉ số 3: 8 điểm»
    chat.expect("Đã chấm chỉ số 3: 8 điểm.", "Minh chứng cho chỉ số 3")
    await chat.send("sao cu hoi mai vay")  # a complaint, not a description
    chat.expect("Đây là câu hỏi về minh chứng cho chỉ số 3", "chưa được lưu")
    assert "Đã lưu" not in chat.text
    await chat.send("da xong")
    chat.expect("Chỉ số 4/10")
    await chat.send("7")
    await chat.send("xong roi")
    chat.expect("Chỉ số 5/10")
    assert await answers(app) == {
        1: (8, None, 0),
        2: (9, None, 0),
        3: (8, None, 0),
        4: (7, None, 0),
    }


@pytest.mark.parametrize(
    ("typed", "goes_to"),
    [("k", "Chỉ số 2/10"), ("ko", "Chỉ số 2/10"), ("không", "Chỉ số 2/10"),
     ("không có", "Chỉ số 2/10"), ("xong", "Chỉ số 2/10"), ("xong rồi", "Chỉ số 2/10"),
     ("dạ xong", "Chỉ số 2/10"), ("rồi", "Chỉ số 2/10"), ("ok", "Chỉ số 2/10")],
)  # fmt: skip
async def test_short_answers_are_the_menus_answers(app: App, typed: str, goes_to: str) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send(typed)
    chat.expect(goes_to)
    assert await answers(app) == {1: (8, None, 0)}


async def test_a_bare_number_asks_before_it_changes_a_score(app: App) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send("9")
    chat.expect("Sửa điểm chỉ số 1 thành 9?")
    await chat.send("1")  # «Sửa chỉ số 1 thành 9 điểm»
    chat.expect("Đã sửa điểm chỉ số 1 thành 9.", "Minh chứng cho chỉ số 1 (tự chấm 9 điểm)")
    await chat.send("8 điểm")
    chat.expect("Sửa điểm chỉ số 1 thành 8?")
    await chat.send("không")  # «Không, giữ 9 điểm»
    chat.expect("Minh chứng cho chỉ số 1 (tự chấm 9 điểm)")
    assert await answers(app) == {1: (9, None, 0)}


async def test_a_description_is_kept_quoted_and_a_second_is_added_never_replacing(
    app: App,
) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send("Có thẻ thư viện quận Lê Chân")
    chat.expect("Đã lưu mô tả cho chỉ số 1: «Có thẻ thư viện quận Lê Chân».")
    await chat.send("Mượn sách hai lần mỗi tháng")
    chat.expect(
        "Đã thêm vào mô tả chỉ số 1: «Mượn sách hai lần mỗi tháng».",
        "«Có thẻ thư viện quận Lê Chân; Mượn sách hai lần mỗi tháng»",
    )
    await chat.send("đọc báo")  # too short to read as a description: asked first
    chat.expect("Lưu «đọc báo» làm mô tả minh chứng cho chỉ số 1?")
    await chat.send("có")
    chat.expect("Đã thêm vào mô tả chỉ số 1: «đọc báo».")
    await chat.send("xong")
    chat.expect("Chỉ số 2/10")
    note = "Có thẻ thư viện quận Lê Chân; Mượn sách hai lần mỗi tháng; đọc báo"
    assert await answers(app) == {1: (8, note, 0)}  # files: none


async def test_a_short_text_not_confirmed_is_not_stored(app: App) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send("dạ vâng")  # a yes: the evidence is done
    chat.expect("Chỉ số 2/10")
    await chat.send("/back")
    await chat.send("/back")
    chat.expect("Chỉ số 1/10")
    await chat.send("giữ 8 điểm")
    await chat.send("thẻ thư viện")
    chat.expect("Lưu «thẻ thư viện» làm mô tả")
    await chat.send("không lưu")
    chat.expect("Minh chứng cho chỉ số 1")
    assert await answers(app) == {1: (8, None, 0)}


# -- natural confirmations, and a miss asks the short question ----------------------------


@pytest.mark.parametrize("yes", ["rồi", "roi a", "dc", "được", "ok", "chuẩn rồi", "số 1"])
async def test_natural_confirmations_at_every_question(app: App, yes: str) -> None:
    chat = TypedChat(app.engine)
    await chat.send("/start")
    await chat.send(yes)  # «đã đủ 16 tuổi chưa?»
    chat.expect("Đồng ý để đăng ký và tự đánh giá?")
    await chat.send(yes)
    chat.expect("Đồng ý chia sẻ?")
    await chat.send(yes)
    chat.expect("số liệu thống kê")
    await chat.send(yes)
    chat.expect("Thuộc đối tượng nào?")
    for step in ("group", "full_name", "birth_year", "gender", "phone", "ward", "ward_pick"):
        press, answer = DEFAULT_ANSWERS[step]
        await chat.send("1" if press else answer)
    await chat.send("Tổ dân phố số 5")
    chat.expect("Thông tin đã đúng chưa?")
    await chat.send(yes)
    chat.expect("đăng ký thành công")
    await chat.send("/declare")
    await chat.send(yes)  # «Bắt đầu tự đánh giá»
    chat.expect("Chỉ số 1/10")
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        consents = await uow.consents.for_citizen(citizen.id)
    assert len(consents) == 3


async def test_a_miss_asks_the_short_question_not_the_whole_notice(app: App) -> None:
    chat = TypedChat(app.engine)
    await chat.send("/start")
    await chat.send("1")
    notice = chat.text
    await chat.send("hmm")
    chat.expect(
        "Vui lòng chọn", "Đồng ý để đăng ký và tự đánh giá?", choices=["agree", "full", "disagree"]
    )
    assert len(chat.text) < len(notice) / 2
    assert "Không hỏi dân tộc" not in chat.text


# -- names, the target group, the ward -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("da toi ten la pham van tam", "Pham Van Tam"),
     ("me em ten Nguyễn Thị Hoa", "Nguyễn Thị Hoa"),
     ("Dạ, tôi tên là Phạm Văn Tâm", "Phạm Văn Tâm"),
     ("họ và tên: Lê Thị Mai", "Lê Thị Mai"),
     ("Đà Văn Hùng", "Đà Văn Hùng"),  # a surname, not «dạ»
     ("Nguyễn Văn Tên", "Nguyễn Văn Tên")],
)  # fmt: skip
async def test_lead_ins_are_not_part_of_a_name(app: App, typed: str, stored: str) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "full_name")
    await chat.send(typed)
    if stored.isascii():  # asked once more with diacritics; the same answer again is taken
        chat.expect("cần viết có dấu", f"Nếu tên đúng là «{stored}»")
        await chat.send(typed)
    chat.expect("năm sinh")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.values["full_name"] == stored


async def test_a_name_without_diacritics_is_asked_once_more_with_them(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "full_name")
    await chat.send("pham van tam")
    chat.expect("Họ tên sẽ được in trên giấy xác nhận", "«Pham Van Tam»")
    await chat.send("Phạm Văn Tâm")
    chat.expect("năm sinh")
    await chat.send("1980")
    for step in ("gender", "phone", "ward", "ward_pick", "residential_group", "summary"):
        press, answer = DEFAULT_ANSWERS[step]
        await (chat.press(answer) if press else chat.send(answer))
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
    assert citizen.full_name == "Phạm Văn Tâm"


@pytest.mark.parametrize(
    ("typed", "group"),
    [("nghỉ hưu", 1), ("nông dân", 1), ("cong nhan", 2), ("tôi là giáo viên", 3),
     ("học sinh", 4)],
)  # fmt: skip
async def test_the_target_group_named_in_words(app: App, typed: str, group: int) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "group")
    await chat.send(typed)
    chat.expect("họ và tên")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.values["group"] == group


@pytest.mark.parametrize("typed", ["?", "không biết", "là sao", "gì vậy"])
async def test_the_target_group_question_helps(app: App, typed: str) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "group")
    await chat.send(typed)
    chat.expect(
        "• Người dân ở phường/xã: người cao tuổi, nghỉ hưu",
        "• Người lao động: công nhân",
        "• Cán bộ, công nhân viên, doanh nhân: cán bộ, công chức, viên chức",
        "• Học sinh, sinh viên, học viên:",
        choices=["g1", "g2", "g3", "g4"],
    )
    assert "Vui lòng chọn một mục ở dưới" not in chat.text


async def test_a_ward_query_a_citizen_would_type(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "ward", gender="skip")
    await chat.send("phuong trai cau")  # a ward merged into An Biên before 2025
    assert chat.choice_labels[:2] == ["Phường An Biên", "Phường Lê Chân"]


# -- labels typed on a channel without buttons; no internal token --------------------------


async def test_every_quoted_label_works_typed(app: App) -> None:
    coord = await coordinator(app, "coord")
    citizen = TypedChat(app.engine, user="citizen")
    await register(citizen)
    await citizen.send("/declare")
    await citizen.send("bat dau")
    for score in (9, 9, 4, 9, 9, 9, 9, 9, 9, 9):
        await citizen.send(str(score))
        await citizen.send("khong co minh chung")
    citizen.expect("Tổng điểm: 85/100", "Chưa đạt")
    await citizen.send("nop de xac nhan")
    citizen.expect("Vẫn nộp")
    await citizen.send("van nop")  # the label the question quotes, without diacritics
    citizen.expect("Đã nộp bản tự đánh giá")
    number = await declaration_id(app)
    await coord.send(f"TRA {number} 3 Xin ảnh giấy chứng nhận")
    await coord.press("confirm")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (returned,) = deliverer.to("citizen")
    assert "Chọn «Bổ sung»" in returned.text
    await citizen.send("Bổ sung")  # typed: the message's button, as a command
    citizen.expect("Chỉ số 3/10", "Xin ảnh giấy chứng nhận")
    await citizen.send("9")
    await citizen.send("xong")
    await citizen.send("nộp để xác nhận")
    citizen.expect("Đã nộp")
    await coord.send(f"duyet {number}")
    await coord.send("có")
    coord.expect("Đạt, 90/100 điểm")
    await sender(app, deliverer).flush()
    approval = deliverer.to("citizen")[-1]
    assert approval.choices == ["/giayxacnhan"]
    await citizen.send("nhan giay xac nhan")  # «Nhận giấy xác nhận», the approval's button
    assert citizen.result.replies
    assert "Không hiểu" not in citizen.text and "chưa rõ" not in citizen.text.lower()


async def test_no_internal_token_reaches_a_citizen(app: App) -> None:
    chat = TypedChat(app.engine)
    await register(chat)
    await chat.send("dừng")
    shown = "\n".join(render_menu(reply, app.translator) for reply in chat.result.replies)
    assert "/stop !" not in shown and "!" not in shown.replace("?", "")
    assert "• Ngừng nhận" in shown and "• Vẫn nhận" in shown
    await chat.send("Ngừng nhận")  # the label, typed
    chat.expect("Đã ngừng gửi tin thông báo")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
    assert identity is not None and identity.opted_out


# -- 2. the citizen reads the scores the coordinator decided on -----------------------------


async def test_the_citizen_sees_the_coordinators_adjusted_scores(app: App) -> None:
    """Seen on main: the citizen read «80/100 — Đạt» while the coordinator saw «79/100 · Chưa
    đạt» after adjusting a score and returning the declaration."""
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen", {i: 8 for i in range(1, 11)})
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("walk")
    await coord.press("next")
    await coord.press("adjust")
    await coord.send("7")
    await coord.send("Kế hoạch học tập chưa viết ra")
    await coord.press("decide")
    coord.expect("Tổng điểm: 79/100", "Chưa đạt")
    await coord.press("return")
    await coord.press("m3")
    await coord.press("done")
    await coord.send("Cần ảnh thẻ thư viện")
    await coord.press("confirm")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (returned,) = deliverer.to("citizen")
    assert "chỉ số 2 từ 8 thành 7 điểm" in returned.text
    assert "Tổng điểm hiện tại: 79/100, kết quả tạm tính: Chưa đạt" in returned.text
    await citizen.send("/status")
    citizen.expect("chỉ số 2 từ 8 thành 7 điểm", "Tổng điểm hiện tại: 79/100")
    await citizen.send("/declare")
    citizen.expect("Chỉ số 3/10", "Cần ảnh thẻ thư viện")
    await citizen.press("keep")
    await citizen.press("done")
    citizen.expect(
        "2. Kế hoạch học tập: 7 điểm (cán bộ điều chỉnh từ 8)", "Tổng điểm: 79/100", "Chưa đạt"
    )
    assert "80/100" not in citizen.text


# -- 5. consents shown back with their purposes ---------------------------------------------


async def test_mydata_names_every_consent_and_the_guardian_who_gave_it(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("minor")
    await chat.send("Phạm Thị Hoa")
    await chat.press("mother")
    for _ in range(3):
        await chat.press("agree")
    await chat.press("g4")
    await chat.send("Phạm Minh Khôi")
    await chat.send("2012")
    for step in ("gender", "phone", "ward", "ward_pick", "residential_group", "workplace"):
        press, answer = DEFAULT_ANSWERS[step]
        await (chat.press(answer) if press else chat.send(answer))
    await chat.press("confirm")
    await chat.send("/mydata")
    chat.expect(
        "• đăng ký và tự đánh giá (bắt buộc), do Phạm Thị Hoa (Mẹ) đồng ý thay: đồng ý ngày",
        "• Phạm Thị Hoa (Mẹ) đồng ý cho người dưới 16 tuổi đăng ký: đồng ý ngày",
    )
    assert "• :" not in chat.text and ") (" not in chat.text


# -- the fresh-eyes audit of the first pass: what still said or stored more than was meant ---


@pytest.mark.parametrize("typed", ["1", "2", "3", "4"])
async def test_a_small_number_at_the_evidence_question_is_a_score_not_a_menu_entry(
    app: App, typed: str
) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send(typed)  # meant for indicator 2, not «Xong» … «Lưu và thoát»
    chat.expect(f"Sửa điểm chỉ số 1 thành {typed}?", f"Hay {typed} là điểm chỉ số 2?")
    shown = "\n".join(render_menu(reply, app.translator) for reply in chat.result.replies)
    assert "1. Xong" not in shown
    assert await answers(app) == {1: (8, None, 0)}


async def test_the_evidence_menu_shows_no_numbers_to_type(app: App) -> None:
    chat = await at_indicator_1_evidence(app)
    shown = "\n".join(render_menu(reply, app.translator) for reply in chat.result.replies)
    assert "• Xong\n• Không có minh chứng" in shown and "1. Xong" not in shown
    assert "(Gõ đúng tên mục muốn chọn.)" in shown


@pytest.mark.parametrize(
    ("typed", "goes_to"),
    [("bỏ qua", "Chỉ số 2/10"), ("dạ không có", "Chỉ số 2/10"), ("tiếp", "Chỉ số 2/10")],
)
async def test_more_ways_to_say_no_evidence(app: App, typed: str, goes_to: str) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send(typed)
    chat.expect(goes_to)
    assert await answers(app) == {1: (8, None, 0)}


async def test_a_question_at_the_evidence_step_is_answered_in_one_example(app: App) -> None:
    chat = await at_indicator_1_evidence(app)
    await chat.send("sao cu hoi mai vay")
    assert "ví dụ: Ví dụ" not in chat.text and "Ví dụ: tên sách" in chat.text


@pytest.mark.parametrize("typed", ["ok", "rồi", "dc", "không", "hoa", "mẹ"])
async def test_a_yes_a_no_or_one_word_is_not_a_full_name(app: App, typed: str) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "full_name")
    await chat.send(typed)
    chat.expect("họ và tên đầy đủ")
    assert "năm sinh" not in chat.text


async def test_a_politeness_word_after_a_name_is_not_printed(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "full_name")
    await chat.send("em tên Nguyễn Văn An ạ")
    chat.expect("năm sinh")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.values["full_name"] == "Nguyễn Văn An"


async def test_short_answers_are_not_a_workplace_or_a_residential_group(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "residential_group", group="g2")
    for typed in ("k", "ok", "rồi"):
        await chat.send(typed)
        chat.expect("tổ dân phố")
    await chat.send("Tổ dân phố số 5")
    chat.expect("Làm việc")
    await chat.send("rồi")
    chat.expect("Làm việc")  # not stored as the workplace
    await chat.send("k")  # nothing to give
    chat.expect("Nơi làm việc/học tập: (chưa nhập)")


async def test_a_gender_is_skipped_with_a_no(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "gender")
    await chat.send("không")
    chat.expect("số điện thoại")


@pytest.mark.parametrize(
    ("typed", "relation"),
    [("bố", "father"), ("bo", "father"), ("ba", "father"), ("má", "mother"), ("mẹ em", "mother"),
     ("bà ngoại", "grandparent"), ("ông nội", "grandparent"), ("giam ho", "other")],
)  # fmt: skip
async def test_the_guardians_relationship_in_words(app: App, typed: str, relation: str) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("minor")
    await chat.send("Nguyễn Thị Hoa")
    await chat.send(typed)
    chat.expect("Kính gửi Nguyễn Thị Hoa")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.values["guardian_relation"] == relation


async def test_a_guardian_giving_an_adults_year_is_asked_again(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.send("chưa đủ")  # «đã đủ 16 tuổi chưa?»: not yet
    chat.expect("họ và tên của cha, mẹ hoặc người giám hộ")
    await chat.send("Nguyễn Thị Hoa")
    await chat.press("mother")
    for _ in range(3):
        await chat.press("agree")
    await chat.press("g4")
    await chat.send("Phạm Minh Khôi")
    await chat.send("1990")  # the guardian's own year, or a slip
    chat.expect("không phải dưới 16", "năm sinh của con/cháu")
    await chat.send("2013")
    chat.expect("Giới tính")


async def test_never_mind_at_the_age_question_is_no_answer(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.send("thôi")
    chat.expect("Người đăng ký đã đủ 16 tuổi chưa?", choices=["adult", "minor"])


@pytest.mark.parametrize(
    ("typed", "group"),
    [("công nhân viên", 3), ("cong nhan vien", 3), ("lao động", 2), ("lao động tự do", 1)],
)
async def test_the_longest_words_pick_the_group(app: App, typed: str, group: int) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "group")
    await chat.send(typed)
    chat.expect("họ và tên")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.values["group"] == group


@pytest.mark.parametrize(
    ("typed", "first"),
    [("lê chân hải phòng", "Phường Lê Chân"), ("le chan tp hp", "Phường Lê Chân"),
     ("phường Trại Cau, quận Lê Chân", "Phường An Biên")],
)  # fmt: skip
async def test_place_words_around_a_wards_name(app: App, typed: str, first: str) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "ward", gender="skip")
    await chat.send(typed)
    assert chat.choice_labels[0] == first


async def test_a_miss_at_the_sharing_and_statistics_consents_asks_them_short(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("adult")
    await chat.press("agree")
    await chat.send("abc")
    chat.expect("Đồng ý chia sẻ bản tự đánh giá với cán bộ phường/xã để xác nhận?")
    assert "thông tin đăng ký, điểm và minh chứng" not in chat.text
    await chat.press("agree")
    await chat.send("abc")
    chat.expect("Đồng ý cho tính vào số liệu thống kê của phong trào")
    assert "Không bắt buộc: nếu không đồng ý" not in chat.text


async def test_the_statistics_notice_names_every_figure_counted(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("adult")
    await chat.press("agree")
    await chat.press("agree")
    chat.expect("người được đề nghị có kỹ năng số")  # the report's digital-skills figure


async def test_the_profile_menu_is_done_with_a_yes(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("/profile")
    await chat.send("rồi")
    chat.expect("Đã lưu")


async def test_a_reminders_label_and_a_notifications_label_typed(app: App) -> None:
    """The reminder says «chọn «Làm tiếp»» of a button «Làm tiếp bản tự đánh giá»; a
    coordinator's notification offers «Xem xét»: both work typed, in part or whole."""
    chat = TypedChat(app.engine, user="citizen")
    await register(chat)
    await chat.send("Làm tiếp")
    chat.expect("Tự đánh giá Công dân học tập năm")
    coord = await coordinator(app, "coord")
    await coord.send("xem xet")
    coord.expect("hồ sơ")
    assert "Các lệnh" not in coord.text  # the queue, not the staff help


async def test_the_failing_approvals_warning_offers_what_it_quotes(app: App) -> None:
    coord = await coordinator(app, "coord")
    await submitted_anyway(app, {i: 7 for i in range(1, 11)})  # 70/100, «Vẫn nộp»
    number = await declaration_id(app)
    await coord.send(f"duyet {number}")
    coord.expect("chọn «Trả lại để bổ sung»", "chọn «Từ chối»")
    await coord.send("tu choi")  # the label the warning quotes, typed without diacritics
    coord.expect("Lý do")


async def test_the_city_association_not_the_ward_when_an_admin_decides(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:boss"))
    try:
        await submitted(app, "citizen")  # Phường Lê Chân has no coordinator
        number = await declaration_id(app)
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send(f"duyet {number}")
        await boss.send("có")
        deliverer = RecordingDeliverer()
        await sender(app, deliverer).flush()
        told = deliverer.to("citizen")[-1].text
        assert "Hội Khuyến học thành phố đã xét duyệt." in told
        assert "Cán bộ phụ trách phường/xã" not in told
        async with app.store.transaction() as uow:
            (declaration,) = await uow.declarations.list()
            assert not await verified_by_ward(uow, declaration)
    finally:
        await app.close()


async def test_the_coordinators_adjustment_is_in_the_export_before_the_decision(
    app: App,
) -> None:
    """After a return and a resubmission the export shows the scores and total the citizen and
    the coordinator read (79), not only the citizen's own (80)."""
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen", {i: 8 for i in range(1, 11)})
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("walk")
    await coord.press("next")
    await coord.press("adjust")
    await coord.send("7")
    await coord.send("Kế hoạch học tập chưa viết ra")
    await coord.press("decide")
    await coord.press("return")
    await coord.press("m3")
    await coord.press("done")
    await coord.send("Cần ảnh thẻ thư viện")
    await coord.press("confirm")
    await citizen.send("/declare")
    await citizen.press("keep")
    citizen.expect("Minh chứng cho chỉ số 3 (tự chấm 8 điểm)")
    await citizen.press("done")
    await citizen.press("submit")
    await citizen.press("submit")  # «Vẫn nộp»: 79 does not pass
    (record,) = await export_records(app.store, app.services.criteria)
    assert record["declaration_status"] == "submitted"
    assert record["verified_scores"]["2"] == 7 and record["verified_total"] == 79
    assert record["total"] == 80  # the citizen's own, as the column says


async def test_the_adjusted_score_is_not_called_self_scored(app: App) -> None:
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen", {i: 8 for i in range(1, 11)})
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("walk")
    await coord.press("next")
    await coord.press("adjust")
    await coord.send("7")
    await coord.send("Kế hoạch học tập chưa viết ra")
    await coord.press("decide")
    await coord.press("return")
    await coord.press("m2")
    await coord.press("done")
    await coord.send("Cần bản kế hoạch")
    await coord.press("confirm")
    await citizen.send("/declare")
    await citizen.press("keep")
    citizen.expect("Minh chứng cho chỉ số 2 (7 điểm, cán bộ phường/xã đã điều chỉnh)")

"""Registration as conversations through the engine: send, expect, press, expect."""

from __future__ import annotations

from bot.app import App
from bot.engine import MAX_TEXT_LENGTH
from tests.chat import DEFAULT_ANSWERS, Chat, agree, answer_until, register


async def test_complete_registration_in_vietnamese(any_app: App) -> None:
    chat = Chat(any_app.engine)
    await chat.send("xin chào")
    chat.expect("Công dân học tập", "đủ 16 tuổi", choices=["adult", "minor"])
    await chat.send("đủ rồi ạ")  # the age first: under 16, a guardian reads and agrees
    chat.expect(
        "Hội Khuyến học", "bên kiểm soát dữ liệu cá nhân", choices=["agree", "full", "disagree"]
    )
    assert len(chat.text) <= 600  # the first screen fits a phone
    await chat.press("Đồng ý")
    chat.expect("cán bộ phụ trách phường/xã", choices=["agree", "later"])
    await chat.send("đồng ý ạ")  # typed, with a particle
    chat.expect("số liệu thống kê", choices=["agree", "later"])
    await chat.send("khong")
    chat.expect("đối tượng", choices=["g1", "g2", "g3", "g4"])
    await chat.press("g2")
    chat.expect("họ và tên")
    await chat.send("  trần   văn  bình ")
    chat.expect("năm sinh")
    await chat.send("1979")
    chat.expect("Giới tính", choices=["male", "female", "other", "skip"])
    await chat.send("bo qua")  # the label typed without diacritics
    chat.expect("số điện thoại")
    assert chat.prompt is not None and chat.prompt.phone_button
    await chat.send("0912.345.678")
    chat.expect("phường/xã")
    await chat.send("hai an")
    chat.expect("Chọn đúng phường/xã")
    assert chat.choice_labels[0] == "Phường Hải An"
    await chat.press("Phường Hải An")
    chat.expect("tổ dân phố")
    await chat.send("Tổ dân phố số 12")
    chat.expect("Làm việc", choices=["skip"])
    await chat.send("Cảng Hải Phòng")
    chat.expect(
        "Trần Văn Bình",
        "1979",
        "(chưa nhập)",
        "Người lao động",
        "Phường Hải An",
        "Tổ dân phố số 12",
        "Cảng Hải Phòng",
        choices=["confirm", "edit"],
    )
    await chat.press("confirm")
    chat.expect("Trần Văn Bình", "đăng ký thành công")

    async with any_app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        consents = await uow.consents.for_citizen(citizen.id)
        identity = await uow.identities.get("test", "1001")
        conversation = await uow.conversations.get(identity.id) if identity else None
    assert citizen.full_name == "Trần Văn Bình"
    assert citizen.phone == "+84912345678"
    assert (citizen.group, citizen.gender, citizen.birth_year) == (2, None, 1979)
    assert citizen.ward_name == "Phường Hải An"
    assert citizen.ward_data_version.startswith("vietnam-provinces:")
    assert citizen.workplace == "Cảng Hải Phòng"
    assert identity is not None and identity.subject_id == citizen.id
    assert conversation is None
    # one record per purpose given, each with the notice version and its time
    assert [c.purposes for c in consents] == [
        ("registration_self_assessment",),
        ("share_with_ward_coordinator",),
    ]
    assert {c.notice_version for c in consents} == {"2026-12"}
    assert all(c.accepted_at is not None and c.withdrawn_at is None for c in consents)

    await chat.send("/start")
    chat.expect("Xin chào Trần Văn Bình")


async def test_disagreeing_stores_nothing_and_explains_how_to_return(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("adult")
    await chat.send("không đồng ý")
    chat.expect("không lưu bất kỳ thông tin cá nhân nào", "/start")
    async with app.store.transaction() as uow:
        assert await uow.identities.get("test", "1001") is None
        assert await uow.citizens.list() == []
    await chat.send("/start")
    chat.expect("Công dân học tập", choices=["adult", "minor"])


async def test_english_speaker_gets_english_and_can_switch(app: App) -> None:
    chat = Chat(app.engine, language="en-GB")
    await chat.send("/start")
    chat.expect("Welcome", "16 or older", choices=["adult", "minor"])
    await chat.press("adult")
    chat.expect("personal data controller", choices=["agree", "full", "disagree"])
    for _ in range(3):
        await chat.press("agree")
    await chat.send("/language vi")
    chat.expect("Đã chuyển sang tiếng Việt", "Thuộc đối tượng nào?")
    await chat.send("/language")
    assert chat.choice_ids == ["lang:vi", "lang:en"]
    await chat.press("English")
    chat.expect("Switched to English", "Which group")
    await chat.send("worker")
    chat.expect("full name")


async def test_name_refusals_say_why(chat: Chat) -> None:
    await answer_until(chat, "full_name")
    for typed, reason in [
        ("😀😀😀", "chữ cái"),
        ("Nguyễn Văn 3", "chữ số"),
        ("xem tại https://example.com", "đường link"),
        ("Lan@@", "chỉ gồm chữ cái"),
        ("A", "quá ngắn"),
        ("Nguyễn " * 20, "100 ký tự"),
    ]:
        await chat.send(typed)
        chat.expect(reason, "họ và tên đầy đủ")
    await chat.send("x" * (MAX_TEXT_LENGTH + 4000))
    chat.expect("quá dài", "họ và tên đầy đủ")
    await chat.send("đặng thị ngọc ánh")
    chat.expect("năm sinh")


async def test_birth_year_range_and_guardian_for_under_16(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "birth_year", group="g4", full_name="Phạm Minh Khôi")
    for typed, reason in [("năm", "4 chữ số"), ("85", "4 chữ số"), ("1800", "trong khoảng")]:
        await chat.send(typed)
        chat.expect(reason)
    # said 16 or over at first, but the year says 15: the consents were a child's, so the
    # guardian is asked for, reads the notice and agrees; registration goes on from there
    await chat.send("2011")
    chat.expect("dưới 16 tuổi", "cha, mẹ hoặc người giám hộ", "họ và tên của cha, mẹ")
    await chat.send("Phạm Thị Hoa")
    await chat.press("mother")
    chat.expect("Kính gửi Phạm Thị Hoa (Mẹ)", "con/cháu", choices=["agree", "full", "disagree"])
    await chat.press("disagree")
    chat.expect("không lưu bất kỳ thông tin cá nhân nào", "/start")
    async with app.store.transaction() as uow:
        assert await uow.identities.get("test", "1001") is None


async def test_under_16_the_guardian_reads_the_notice_and_agrees_first(app: App) -> None:
    """Law 91/2025: for a child under 16 the parent or guardian acts; the age is asked before
    any consent, and the notice and the agreement are addressed to the guardian, whose name
    and relationship are recorded with every consent."""
    chat = Chat(app.engine)
    await chat.send("/start")
    chat.expect("đủ 16 tuổi", choices=["adult", "minor"])
    await chat.send("chưa")  # not yet 16
    chat.expect("dành cho cha, mẹ hoặc người giám hộ", "họ và tên")
    assert chat.choice_ids == []  # no consent has been asked of the child
    await chat.send("bà Phạm Thị Hoa")
    chat.expect(
        "Phạm Thị Hoa là gì của người đăng ký", choices=["father", "mother", "grandparent", "other"]
    )
    await chat.press("grandparent")
    chat.expect("Kính gửi Phạm Thị Hoa (Ông/Bà)", "Đồng ý cho con/cháu đăng ký")
    assert len(chat.text) <= 600  # still one phone screen
    await chat.press("agree")
    chat.expect("bản tự đánh giá của con/cháu", choices=["agree", "later"])
    await chat.press("agree")
    chat.expect("tính con/cháu vào số liệu thống kê", choices=["agree", "later"])
    await chat.press("later")
    await chat.press("g4")
    await chat.send("Phạm Minh Khôi")
    await chat.send("năm 2013")
    chat.expect("Giới tính")  # the guardian has agreed already: not asked again
    await chat.press("male")
    for step in ("phone", "ward", "ward_pick", "residential_group", "workplace", "summary"):
        press, default = DEFAULT_ANSWERS[step]
        await (chat.press(default) if press else chat.send(default))
    chat.expect("đăng ký thành công")
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        consents = await uow.consents.for_citizen(citizen.id)
    assert [c.purposes for c in consents] == [
        ("registration_self_assessment",),
        ("share_with_ward_coordinator",),
        ("guardian_consent",),
    ]
    assert {(c.guardian_name, c.guardian_relation) for c in consents} == {
        ("Phạm Thị Hoa", "grandparent")
    }
    assert citizen.birth_year == 2013 and citizen.guardian_consent is True


async def test_an_age_or_a_year_answers_the_age_question(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("có lẽ")  # a miss asks the short question again, not the whole screen
    chat.expect("chọn một mục", "Người đăng ký đã đủ 16 tuổi chưa?")
    assert "Chào mừng" not in chat.text
    await chat.send("em năm nay 15 tuổi")
    chat.expect("họ và tên của cha, mẹ hoặc người giám hộ")
    await chat.send("/cancel")
    await chat.send("/start")
    await chat.send("1985")
    chat.expect("Đồng ý để đăng ký và tự đánh giá?")


async def test_phone_validation_and_contact_sharing(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "phone", full_name="Lê Văn Tám", gender="male")
    for typed, reason in [("12345", "không hợp lệ"), ("+1 202 555 0143", "Việt Nam")]:
        await chat.send(typed)
        chat.expect(reason)
    await chat.share_contact("+84 98 765 43 21", own=False)
    chat.expect("không phải số điện thoại của tài khoản này")
    await chat.share_contact("84987654321")
    chat.expect("phường/xã")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.values["phone"] == "+84987654321"


async def test_ward_search_without_diacritics_typos_and_retype(chat: Chat) -> None:
    await answer_until(chat, "ward", gender="skip")
    await chat.send("zzzzzz")
    chat.expect("Không tìm thấy", "zzzzzz")
    await chat.send("phuong le chna")  # kind word, no accents, a typo
    assert "Phường Lê Chân" in chat.choice_labels
    assert chat.choice_ids[-1] == "retype"
    assert len(chat.choice_ids) <= 7
    await chat.press("retype")
    chat.expect("phường/xã")
    await chat.send("cat hai")
    assert chat.choice_labels[0] == "Đặc khu Cát Hải"
    await chat.send("bach long vi")  # typing another name at the list searches again
    assert chat.choice_labels[0] == "Đặc khu Bạch Long Vĩ"
    await chat.send("1")
    chat.expect("tổ dân phố")


async def test_stale_and_forged_buttons_change_nothing(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    consent = chat.prompt
    assert consent is not None
    await agree(chat)
    await chat.press("g1")
    chat.expect("họ và tên")
    # the consent message's "disagree" button pressed again later
    await chat.press_raw("disagree", consent.token)
    assert chat.result.stale
    chat.expect("tin nhắn cũ", "họ và tên")
    # a forged choice with the current token, and garbage
    assert chat.prompt is not None
    await chat.press_raw("g4", chat.prompt.token)
    chat.expect("tin nhắn cũ", "họ và tên")
    await chat.press_raw("confirm", None)
    chat.expect("tin nhắn cũ")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None
    assert conversation.step == "full_name"
    assert conversation.values["group"] == 1


async def test_unusable_input_gets_a_reprompt(chat: Chat) -> None:
    from bot.engine import FileRef

    await chat.send("/start")
    await chat.press("adult")
    await chat.send("có lẽ")
    chat.expect("chọn một mục", "Đồng ý để đăng ký", choices=["agree", "full", "disagree"])
    assert "Không hỏi dân tộc" not in chat.text  # the short question, not the notice again
    await chat.send("/frobnicate")
    chat.expect("/frobnicate", "/help", choices=["agree", "full", "disagree"])
    for _ in range(3):
        await chat.press("agree")
    await chat.press("g1")
    await chat.send_file(FileRef("f1", "photo"))
    chat.expect("gõ họ và tên")


async def test_back_help_and_cancel(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/back")
    chat.expect("Không còn câu nào trước đó")
    await chat.send("/start")
    await chat.send("/back")
    chat.expect("Không còn câu nào trước đó", choices=["adult", "minor"])
    await agree(chat)
    await chat.press("g3")
    await chat.send("/back")
    chat.expect("đối tượng", choices=["g1", "g2", "g3", "g4"])
    await chat.press("g1")
    await chat.send("/help")
    chat.expect("/cancel", "/profile", "họ và tên")
    await chat.send("/cancel")
    chat.expect("Đã hủy đăng ký")
    async with app.store.transaction() as uow:
        assert await uow.identities.get("test", "1001") is None
    await chat.send("/cancel")
    chat.expect("không có thao tác nào")


async def test_edit_from_summary_returns_to_summary(chat: Chat) -> None:
    await answer_until(chat, "summary", full_name="Hoàng Văn Nam", ward="Lê Chân")
    chat.expect("Hoàng Văn Nam", choices=["confirm", "edit"])
    await chat.press("edit")
    assert "full_name" in chat.choice_ids and "workplace" not in chat.choice_ids
    await chat.press("full_name")
    await chat.send("Hoàng Văn Bắc")
    chat.expect("Hoàng Văn Bắc", choices=["confirm", "edit"])
    await chat.press("edit")
    await chat.press("ward")
    await chat.send("ngo quyen")
    await chat.press("Phường Ngô Quyền")
    chat.expect("Phường Ngô Quyền", choices=["confirm", "edit"])
    await chat.press("edit")
    await chat.press("birth_year")
    await chat.send("2015")
    chat.expect("dưới 16 tuổi", "họ và tên của cha, mẹ")
    await chat.send("Hoàng Văn Đông")
    await chat.press("father")
    await chat.press("agree")
    await chat.press("agree")
    await chat.press("agree")
    chat.expect("2015", "Hoàng Văn Bắc", choices=["confirm", "edit"])  # back at the summary
    await chat.press("confirm")
    chat.expect("Hoàng Văn Bắc", "thành công")


async def test_profile_shows_edits_and_deletes(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/profile")
    chat.expect("Chưa đăng ký")
    await register(chat)
    await chat.send("/profile")
    chat.expect(
        "Nguyễn Thị Hồng Nhung", "0912 345 678", choices=["edit", "consents", "delete", "done"]
    )
    await chat.press("edit")
    await chat.press("phone")
    await chat.send("0988 111 222")
    chat.expect("0988 111 222", choices=["edit", "consents", "delete", "done"])
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
    assert citizen.phone == "+84988111222"  # saved as soon as the field was changed
    await chat.press("done")
    chat.expect("Đã lưu")

    await chat.send("/profile")
    await chat.press("delete")
    chat.expect("không thể hoàn tác", choices=["delete", "keep"])
    await chat.press("keep")
    chat.expect("Thông tin đã đăng ký")
    await chat.press("delete")
    await chat.press("delete")
    chat.expect("Đã xóa toàn bộ dữ liệu")
    async with app.store.transaction() as uow:
        assert await uow.citizens.list() == []
        assert await uow.identities.get("test", "1001") is None
    await chat.send("/start")
    chat.expect("Công dân học tập", choices=["adult", "minor"])


async def test_a_registered_citizen_cannot_open_profile_mid_registration(chat: Chat) -> None:
    await chat.send("/start")
    await agree(chat)
    await chat.send("/profile")
    chat.expect("Chưa đăng ký", "đối tượng")


async def test_the_full_notice_names_everything_the_law_asks(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("adult")
    first = chat.text
    await chat.press("Xem đầy đủ")
    chat.expect(
        "Bên kiểm soát dữ liệu cá nhân: Hội Khuyến học thành phố Hải Phòng",
        "liên hệ:",
        "Mục đích",
        "Tính vào số liệu thống kê của phong trào",
        "chỉ không được tính vào các số liệu thống kê",
        "tài khoản Telegram hoặc Zalo",  # the categories include the chat account ids
        "Bên nhận: cán bộ phụ trách phường/xã và quản trị viên",
        "Thời gian lưu",
        "khiếu nại",
        "Không đồng ý thì không thể đăng ký",
        choices=["agree", "disagree"],
    )
    assert len(chat.text) > len(first)
    await chat.send("đồng ý")
    chat.expect("chia sẻ", choices=["agree", "later"])
    await chat.send("để sau")
    await chat.send("không đồng ý")
    chat.expect("Thuộc đối tượng nào")
    await chat.press("g1")
    await chat.send("bà Trần thị lan")  # a word of address typed before the name
    await chat.send("1952.")
    chat.expect("Giới tính")
    await chat.press("female")
    await chat.send("0912 345 678")
    await chat.send("le chan")
    await chat.press("Phường Lê Chân")
    await chat.send("không biết")  # plainly not a residential group
    chat.expect("tổ trưởng hoặc trưởng thôn")
    await chat.send("Tổ dân phố số 5")
    chat.expect("Trần Thị Lan", "1952", "Người dân ở phường/xã")
    await chat.send("đúng")  # "Đúng" answers "Thông tin đã đúng chưa?"; it is no opt-out
    chat.expect("Trần Thị Lan", "đăng ký thành công")
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        consents = await uow.consents.for_citizen(citizen.id)
    assert citizen.full_name == "Trần Thị Lan" and citizen.birth_year == 1952
    assert [c.purposes for c in consents] == [("registration_self_assessment",)]


async def test_the_language_menu_answers_only_itself(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.press("adult")
    await chat.send("/language")
    assert chat.choice_ids == ["lang:vi", "lang:en"]
    await chat.send("2")  # the menu's second entry, not the consent's "Không đồng ý"
    chat.expect("Switched to English", "Do you agree", choices=["agree", "full", "disagree"])
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None and identity.menu is None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None and conversation.step == "consent"
    await chat.send("2")  # now the consent's own second entry: the full notice
    chat.expect("Personal data controller", choices=["agree", "disagree"])


async def test_from_the_ward_list_back_returns_to_the_question_before(chat: Chat) -> None:
    await answer_until(chat, "ward", gender="skip")
    await chat.send("hai an")
    assert chat.choice_labels[0] == "Phường Hải An"
    await chat.send("/back")
    chat.expect("số điện thoại")
    await chat.send("0912 345 678")
    await chat.send("hai an")
    await chat.press("Phường Hải An")
    chat.expect("tổ dân phố")
    await chat.send("/back")  # the ward question, not its stale list
    chat.expect("Sống ở phường/xã")
    assert chat.choice_ids == []


async def test_profile_shows_each_consent_and_withdraws_one_at_a_time(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("hồ sơ")  # the Vietnamese command word
    await chat.press("consents")
    chat.expect(
        "đăng ký và tự đánh giá (bắt buộc): đã đồng ý",
        "chia sẻ với cán bộ phường/xã để xác nhận (cần để nộp): đã đồng ý",
        "tính vào số liệu thống kê của phong trào, không ghi tên (không bắt buộc): đã đồng ý",
    )
    await chat.press("toggle:anonymous_statistics")
    chat.expect(
        "Đã rút sự đồng ý: tính vào số liệu thống kê",
        "thống kê của phong trào, không ghi tên (không bắt buộc): chưa đồng ý",
    )
    await chat.press("toggle:anonymous_statistics")
    chat.expect("Đã ghi nhận sự đồng ý: tính vào số liệu thống kê")
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        consents = await uow.consents.for_citizen(citizen.id)
    stats = [c for c in consents if c.purposes == ("anonymous_statistics",)]
    assert [c.withdrawn_at is None for c in stats] == [False, True]  # withdrawn, then given anew
    await chat.press("back")
    chat.expect("Thông tin đã đăng ký")


async def test_years_and_yes_no_are_understood_as_typed(app: App) -> None:
    chat = Chat(app.engine)
    await chat.send("/start")
    await chat.send("roi a")  # «đã đủ 16 tuổi chưa?» — «rồi ạ» typed without diacritics
    await chat.send("dong y a")  # no diacritics, a particle
    await chat.send("dc")
    await chat.send("chuẩn rồi")
    chat.expect("Thuộc đối tượng nào")
    await chat.send("1")
    await chat.send("Vũ Văn Dũng")
    chat.expect("năm sinh")
    await chat.send("sinh năm 1961 ạ")
    chat.expect("Giới tính")
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("test", "1001")
        assert identity is not None
        conversation = await uow.conversations.get(identity.id)
    assert conversation is not None
    assert conversation.values["full_name"] == "Vũ Văn Dũng"  # "Dũng" is a name, not "dừng"
    assert conversation.values["birth_year"] == 1961
    assert conversation.values["consent_purposes"] == [
        "registration_self_assessment",
        "share_with_ward_coordinator",
        "anonymous_statistics",
    ]

"""Coordinator verification as conversations: invitation, notification, review, decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import App
from bot.domain.usecases.roles import create_invitation
from bot.engine import FileRef
from bot.services.export import export_records
from bot.services.outbox import RateLimited, Transient, Unreachable
from tests.chat import Chat, register
from tests.conftest import make_settings, started_app
from tests.verification_helpers import (
    RecordingDeliverer,
    coordinator,
    declaration_id,
    invite,
    sender,
    submitted,
)


async def status(app: App) -> str:
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    return declaration.status


async def events(app: App) -> list[tuple[str, str, str]]:
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        found = await uow.declarations.events(declaration.id)
    return [(e.actor, e.from_status, e.to_status) for e in found]


async def test_invitation_codes_bind_once_and_expire(app: App) -> None:
    code = await invite(app, wards=("11383", "11311"))
    chat = Chat(app.engine, user="c1")
    await chat.send(f"/coordinator {code.lower().replace('-', ' ')}")  # typed loosely
    chat.expect("cán bộ phụ trách", "Phường Lê Chân", "Phường Hồng Bàng")
    other = Chat(app.engine, user="c2")
    await other.send(f"/coordinator {code}")
    other.expect("đã được sử dụng")
    async with app.store.transaction() as uow:
        old = await create_invitation(
            uow, "coordinator", ("11383",), "test", datetime.now(UTC) - timedelta(days=8),
            timedelta(days=7),
        )  # fmt: skip
    await other.send(f"/coordinator {old}")
    other.expect("đã hết hạn")
    await other.send("/coordinator")
    other.expect("/coordinator ABCDE-23456")


async def test_repeated_wrong_codes_are_slowed_down(app: App) -> None:
    chat = Chat(app.engine, user="guesser")
    for _ in range(5):
        await chat.send("/coordinator AAAAA-BBBBB")
        chat.expect("không đúng")
    await chat.send(f"/coordinator {await invite(app)}")
    chat.expect("nhập sai mã nhiều lần", "phút")  # even the right code waits


async def test_submission_notifies_the_wards_coordinators_at_once(app: App) -> None:
    coordinator_chat = await coordinator(app, "coord")
    other_ward = await coordinator(app, "other", wards=("11311",))
    await submitted(app, "citizen")
    deliverer = RecordingDeliverer()
    assert await sender(app, deliverer).flush() == 1
    (note,) = deliverer.to("coord")
    number = await declaration_id(app)
    assert "Nguyễn Thị Hồng Nhung" in note.text
    assert "Phường Lê Chân" in note.text
    assert "90/100" in note.text
    assert note.choices == [f"/review {number}"]
    assert deliverer.to(other_ward.user) == []
    assert coordinator_chat.user == "coord"
    assert await sender(app, deliverer).flush() == 0  # sent once


async def test_a_ward_without_coordinator_goes_to_the_city_admins(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:admin1"))
    try:
        citizen = Chat(app.engine, user="citizen")
        await register(citizen)
        await citizen.send("/declare")
        await citizen.press("begin")
        for _ in range(10):
            await citizen.send("8")
            await citizen.press("none")
        await citizen.press("submit")
        citizen.expect("chưa có cán bộ phụ trách", "Hội Khuyến học")
        deliverer = RecordingDeliverer(name="console")
        await sender(app, deliverer).flush()
        (note,) = deliverer.to("admin1")
        assert "chưa có cán bộ phụ trách" in note.text
        admin = Chat(app.engine, user="admin1", channel="console")
        await admin.send(note.choices[0])  # "/review N" typed works like the button
        admin.expect("Hồ sơ #", "Tổng điểm: 80/100")
    finally:
        await app.close()


async def test_return_resubmit_and_approve_round_trip(any_app: App) -> None:
    app = any_app
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    deliverer = RecordingDeliverer()
    outbox = sender(app, deliverer)

    await coord.press_raw(f"/review {number}", "g")  # the notification's button
    coord.expect(
        f"Hồ sơ #{number}",
        "lần xem xét 1",
        choices=["walk", "approve", "return", "reject", "later"],
    )
    await coord.press("return")
    coord.expect("Chọn các chỉ số cần bổ sung")
    await coord.press("m3")
    await coord.press("m5")
    await coord.press("m5")  # toggled off again
    await coord.press("done")
    coord.expect("chỉ số 3")
    await coord.send("Cần ảnh giấy chứng nhận khóa học")
    coord.expect("Trả lại hồ sơ này để bổ sung?", "Chỉ số 3: «Cần ảnh giấy chứng nhận khóa học»")
    await coord.press("confirm")
    coord.expect(f"Đã trả lại hồ sơ #{number}", "chỉ số 3", "hoàn tác trong 10 phút")
    assert await status(app) == "returned"

    await outbox.flush()
    (note,) = deliverer.to("citizen")
    assert "Cần ảnh giấy chứng nhận khóa học" in note.text
    assert note.choices == ["/declare"]
    await citizen.send("/status")
    citizen.expect("trả lại", "chỉ số 3", "Cần ảnh giấy chứng nhận")

    await citizen.press_raw("/declare", "g")  # straight to the indicator asked about
    citizen.expect("Chỉ số 3/10", "Điểm hiện tại: 9", "Cần ảnh giấy chứng nhận khóa học")
    assert "Giữ 9 điểm" in citizen.choice_labels
    await citizen.send("10")
    await citizen.send("Đã học khóa tin học cơ bản")
    await citizen.press("done")
    citizen.expect("Tổng hợp", "3. Tham gia hoạt động học tập: 10 điểm · 1 minh chứng")
    await citizen.press("edit")
    assert citizen.choice_ids == ["i3", "review"]  # only what was returned
    await citizen.press("review")
    await citizen.press("submit")
    citizen.expect("Đã nộp")

    await outbox.flush()
    (renotice,) = [d for d in deliverer.to("coord") if "lần 2" in d.text]
    assert renotice.choices == [f"/review {number}"]
    await coord.send(f"/review {number}")
    coord.expect("lần xem xét 2", "Tổng điểm: 91/100")
    await coord.press("approve")
    coord.expect(
        "Xác nhận kết quả Đạt (91/100 điểm) và đề nghị công nhận?",
        f"Hồ sơ #{number} · Nguyễn Thị Hồng Nhung",
        choices=["confirm", "overview"],
    )
    assert coord.choice_labels[0] == "Ghi kết quả: Đạt (91/100)"
    assert await status(app) == "submitted"  # nothing decided before the confirmation
    await coord.press("confirm")
    coord.expect(f"Đã ghi kết quả hồ sơ #{number}: Đạt, 91/100 điểm — đề nghị công nhận")
    assert await status(app) == "recognised"
    await outbox.flush()
    assert "Chúc mừng" in deliverer.to("citizen")[-1].text
    assert "91/100" in deliverer.to("citizen")[-1].text
    await citizen.send("/status")
    citizen.expect("đã được xác nhận với tổng điểm 91", "đề nghị công nhận Công dân học tập")
    assert [(frm, to) for _, frm, to in await events(app)] == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "recognised"),
    ]

    (record,) = await export_records(app.store, app.services.criteria)
    assert record["decision"] == "approved"
    assert record["decided_by"] == "test:coord"
    assert record["decided_by_name"] == "Cán bộ coord"
    assert record["verified_total"] == 91
    assert record["review_rounds"] == 2
    assert record["audit_events"] == 4


async def test_walking_the_indicators_resends_files_and_an_adjustment_changes_the_outcome(
    app: App,
) -> None:
    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return b"\xff\xd8\xff\xe0certificate"

    app.evidence.register("test", fetch)
    coord = await coordinator(app, "coord")
    citizen = Chat(app.engine, user="citizen")
    await register(citizen)
    await citizen.send("/declare")
    await citizen.press("begin")
    await citizen.send("8")
    await citizen.send_file(FileRef("p1", "photo", "image/jpeg", name="the.jpg"))
    await citizen.press("done")
    for _ in range(2, 11):
        await citizen.send("8")
        await citizen.press("none")
    await citizen.press("submit")
    number = await declaration_id(app)

    await coord.send(f"/review {number}")
    await coord.press("walk")
    coord.expect("Chỉ số 1/10", "Điểm tự đánh giá: 8/10", "Tệp minh chứng: 1")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    files = [d for d in deliverer.to("coord") if d.file is not None]
    assert len(files) == 1
    assert files[0].file is not None
    assert files[0].file.path.read_bytes() == b"\xff\xd8\xff\xe0certificate"
    assert "chỉ số 1, tệp 1/1" in files[0].text
    await coord.press("next")
    coord.expect("Chỉ số 2/10")
    await coord.press("adjust")
    await coord.send("4")
    coord.expect("Lý do điều chỉnh chỉ số 2 thành 4")
    await coord.send("Chưa có kế hoạch học tập viết ra")
    coord.expect("Điểm điều chỉnh: 4", "Chưa có kế hoạch")
    await coord.press("decide")
    coord.expect("Tổng điểm: 76/100", "Chưa đạt", "chỉ số 2 dưới 5 điểm")
    # the approve action names the result it records, and a failing one is warned about
    assert "Xác nhận kết quả: Chưa đạt (76/100)" in coord.choice_labels
    await coord.press("approve")
    coord.expect(
        "⚠️ Kết quả sẽ được ghi là Chưa đạt (76/100 điểm): tổng điểm 76 dưới 80; chỉ số 2 dưới 5",
        "chưa được đề nghị công nhận",
        "«Trả lại để bổ sung»",
        choices=["confirm", "overview", "return", "reject"],  # what the warning offers
    )
    assert "Chưa đạt (76/100 điểm): Chưa đạt" not in coord.text  # said once
    assert coord.choice_labels[0] == "Ghi kết quả: Chưa đạt (76/100)"
    assert coord.choice_labels[2:] == ["Trả lại để bổ sung", "Từ chối"]
    await coord.press("confirm")
    coord.expect("Đã ghi kết quả hồ sơ #1: Chưa đạt, 76/100 điểm — không đề nghị công nhận")
    assert await status(app) == "not_recognised"
    (record,) = await export_records(app.store, app.services.criteria)
    assert record["verified_scores"]["2"] == 4
    assert record["scores"]["2"] == 8
    assert record["verified_total"] == 76
    async with app.store.transaction() as uow:
        audit = await uow.declarations.events(number)
    # the adjustment is an audit event of its own, recorded when it was made
    assert [(e.to_status, e.adjusted) for e in audit[1:]] == [
        (
            "submitted",
            {
                "2": {
                    "from": 8,
                    "to": 4,
                    "reason": "Chưa có kế hoạch học tập viết ra",
                    "by": "test:coord",
                }
            },
        ),
        ("not_recognised", None),
    ]
    assert audit[1].actor == "test:coord"


async def test_reject_with_a_reason(app: App) -> None:
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("reject")
    await coord.send("ok")
    coord.expect("ghi lý do")
    await coord.send("Không phải người dân của phường")
    coord.expect("Từ chối hồ sơ này?", "Lý do gửi cho người dân: «Không phải người dân của phường»")
    await coord.press("confirm")
    coord.expect("Đã từ chối")
    await citizen.send("/status")
    citizen.expect("không được xác nhận", "Không phải người dân của phường")
    await citizen.send("/declare")
    citizen.expect("đã được cán bộ xét xong")


async def test_one_coordinator_holds_a_review_at_a_time(app: App) -> None:
    first = await coordinator(app, "first")
    second = await coordinator(app, "second")
    await submitted(app, "citizen")
    number = await declaration_id(app)
    await first.send(f"/review {number}")
    await second.send(f"/review {number}")
    second.expect("đang được Cán bộ first xem xét")  # the name they gave, not the account
    await second.send("/queue")
    second.expect("1 hồ sơ", "đang có cán bộ khác xem")
    await first.press("later")
    first.expect("để lại")
    await second.send(f"/review {number}")
    second.expect(f"Hồ sơ #{number}")
    # an open review is released after 24 hours
    async with app.store.transaction() as uow:
        await uow.declarations.update(
            number, datetime.now(UTC), claimed_at=datetime.now(UTC) - timedelta(hours=25)
        )
    await first.send(f"/review {number}")
    first.expect(f"Hồ sơ #{number}")
    await second.press("approve")  # second lost the claim meanwhile: refused, nothing changes
    await second.press("confirm")
    second.expect("không còn do tài khoản này giữ")
    assert await status(app) == "submitted"


async def test_forged_decisions_are_refused_and_change_nothing(app: App) -> None:
    await coordinator(app, "coord")
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    await citizen.press_raw(f"/review {number}", "g")
    citizen.expect("chỉ dành cho cán bộ")
    await citizen.send(f"/review {number}")
    citizen.expect("chỉ dành cho cán bộ")
    outsider = await coordinator(app, "outsider", wards=("11311",))
    await outsider.send(f"/review {number}")
    elsewhere = outsider.text.replace(f"#{number}", "#N")
    outsider.expect(f"Không có hồ sơ #{number}")
    await outsider.send("/review 999")
    # another ward's declaration reads exactly as one that does not exist
    assert outsider.text.replace("#999", "#N") == elsewhere
    await outsider.send("/queue")
    outsider.expect("Không có hồ sơ nào")
    await citizen.press_raw("approve", "1")  # an old-looking button of someone else's flow
    assert await status(app) == "submitted"
    assert len(await events(app)) == 1


async def test_a_crash_after_commit_still_delivers_once_back(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = await started_app(settings)
    await coordinator(first, "coord")
    await submitted(first, "citizen")
    await first.close()  # the bot dies before any sender ran

    second = await started_app(settings)
    try:
        deliverer = RecordingDeliverer()
        outbox = sender(second, deliverer)
        assert await outbox.flush() == 1
        assert await outbox.flush() == 0
        assert len(deliverer.to("coord")) == 1
    finally:
        await second.close()


async def test_the_sender_waits_out_rate_limits_and_gives_up_on_blocked_users(app: App) -> None:
    await coordinator(app, "coord")
    await submitted(app, "citizen")
    deliverer = RecordingDeliverer(failures=[RateLimited(0), Transient("reset")])
    outbox = sender(app, deliverer)
    assert await outbox.flush() == 1  # rate limited: postponed by 0 s
    assert await outbox.flush() == 1  # transient: retried after 2**1 s
    assert deliverer.sent == []
    async with app.store.transaction() as uow:
        assert (await uow.outbox.counts()) == {"pending": 1}
    deliverer.failures = [Unreachable("blocked")]
    async with app.store.transaction() as uow:
        (row,) = await uow.outbox.due("test", datetime.now(UTC) + timedelta(minutes=1), 10)
        await uow.outbox.postpone(row.id, datetime.now(UTC), "retry now")
    assert await outbox.flush() == 1
    async with app.store.transaction() as uow:
        assert (await uow.outbox.counts()) == {"failed": 1}


async def test_an_admin_invites_from_the_chat(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:boss"))
    try:
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/invite")
        boss.expect("/invite Lê Chân")
        await boss.send("/invite kien")  # several units match: pick one
        assert "Phường Kiến An" in boss.choice_labels
        assert all(choice.startswith("/invite ") for choice in boss.choice_ids)
        await boss.press("Phường Kiến An")
        boss.expect("Mã mời cán bộ phụ trách Phường Kiến An", "/coordinator")
        code = boss.text.split(": ")[1].split()[0]
        newcomer = Chat(app.engine, user="newcomer", channel="console")
        await newcomer.send(f"/coordinator {code}")
        newcomer.expect("Phường Kiến An")
        await boss.send("/invite admin")
        admin_code = boss.text.split(": ")[1].split()[0]
        deputy = Chat(app.engine, user="deputy")
        await deputy.send(f"/coordinator {admin_code}")
        deputy.expect("quản trị viên thành phố")
        await deputy.send("/invite le chan")
        deputy.expect("Phường Lê Chân")  # a granted admin may invite too
        await newcomer.send("/invite le chan")
        newcomer.expect("Chỉ quản trị viên")
        assert "invite" not in app.engine.commands  # staff commands stay off the public menu
    finally:
        await app.close()


async def test_outcomes_reach_the_citizen_in_their_language(app: App) -> None:
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen")
    await citizen.send("/language en")
    await coord.send(f"/review {await declaration_id(app)}")
    await coord.press("approve")
    await coord.press("confirm")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    assert "Congratulations" in deliverer.to("citizen")[-1].text


async def test_an_admin_removed_from_the_configuration_loses_the_role(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, admins="console:boss")
    app = await started_app(settings)
    try:
        await submitted(app, "citizen")
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send(f"/review {await declaration_id(app)}")  # makes a staff record
        boss.expect("Hồ sơ #")
        await boss.press("later")
    finally:
        await app.close()
    app = await started_app(make_settings(tmp_path))  # CDHT_ADMINS emptied
    try:
        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/queue")
        boss.expect("chỉ dành cho cán bộ")
        async with app.store.transaction() as uow:
            assert await uow.staff.admins() == []
    finally:
        await app.close()


async def test_an_adjustment_survives_a_return_and_the_citizen_keeps_a_score_in_one_tap(
    app: App,
) -> None:
    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return b"\xff\xd8\xff\xe0certificate"

    app.evidence.register("test", fetch)
    coord = await coordinator(
        app, "coord", name="Nguyễn Văn An, phường Lê Chân", phone="0987 654 321"
    )
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    coord.expect("📞 0912 345 678")  # the citizen's phone, to call
    assert "tệp" not in coord.text  # no files: none mentioned
    await coord.press("walk")
    await coord.press("next")
    await coord.press("adjust")
    await coord.send("7 điểm")  # typed with its unit
    coord.expect("Lý do điều chỉnh chỉ số 2 thành 7")
    await coord.send("Kế hoạch chưa cụ thể")
    await coord.press("decide")
    await coord.press("return")
    await coord.press("m3")
    await coord.press("done")
    await coord.send("Cần ảnh giấy chứng nhận")
    await coord.press("confirm")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (note,) = deliverer.to("citizen")
    assert "Nguyễn Văn An, phường Lê Chân (điện thoại 0987 654 321)" in note.text

    await citizen.send("/declare")  # straight to indicator 3, with what was asked
    citizen.expect("Chỉ số 3/10", "Cần ảnh giấy chứng nhận", "Điểm hiện tại: 9")
    await citizen.send_file(FileRef("p1", "photo", "image/jpeg"))  # the photo, at once
    citizen.expect("Đã nhận tệp (1/5)", "Minh chứng cho chỉ số 3")
    await citizen.press("done")
    citizen.expect("Tổng hợp", "3. Tham gia hoạt động học tập: 9 điểm · 1 minh chứng")
    await citizen.press("submit")
    citizen.expect("Đã nộp")

    await coord.send(f"/review {number}")
    coord.expect(
        "2. Kế hoạch học tập: 9 điểm → 7 (đã điều chỉnh)",
        "3. Tham gia hoạt động học tập: 9 điểm · 1 tệp",
    )
    await coord.press("approve")
    await coord.press("confirm")
    coord.expect(f"Đã ghi kết quả hồ sơ #{number}: Đạt, 88/100 điểm")
    (record,) = await export_records(app.store, app.services.criteria)
    assert record["verified_scores"]["2"] == 7
    assert record["verified_total"] == 88
    assert record["decided_by_name"] == "Nguyễn Văn An, phường Lê Chân"


async def test_a_citizen_who_changes_the_adjusted_indicator_replaces_the_adjustment(
    app: App,
) -> None:
    coord = await coordinator(app, "coord")
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("walk")
    await coord.press("next")
    await coord.press("adjust")
    await coord.press("6")
    await coord.send("Chưa có kế hoạch viết ra")
    await coord.press("mark")
    await coord.press("decide")
    await coord.press("return")
    await coord.send("Xin gửi kế hoạch học tập")
    await coord.press("confirm")
    await citizen.send("/declare")
    citizen.expect("Chỉ số 2/10", "Xin gửi kế hoạch học tập")
    await citizen.send("8")
    await citizen.press("none")
    await citizen.press("submit")
    await coord.send(f"/review {number}")
    coord.expect("2. Kế hoạch học tập: 8 điểm\n")  # the citizen's new score, no adjustment
    async with app.store.transaction() as uow:
        answers = await uow.declarations.answers(number)
    assert (answers[2].score, answers[2].verified_score) == (8, None)


async def test_a_decision_can_be_undone_by_its_author_within_ten_minutes(app: App) -> None:
    coord = await coordinator(app, "coord")
    other = await coordinator(app, "other")
    await submitted(app, "citizen")
    number = await declaration_id(app)
    await coord.send(f"/review {number}")
    await coord.press("approve")
    await coord.press("confirm")
    assert coord.choice_ids == [f"/undo {number}"]
    await other.send(f"/undo {number}")  # not theirs to undo
    other.expect(f"Không có quyết định nào của tài khoản này về hồ sơ #{number}")
    assert await status(app) == "recognised"
    await coord.press(f"/undo {number}")
    coord.expect(f"Đã hoàn tác: hồ sơ #{number} trở lại chờ xét")
    assert await status(app) == "submitted"
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    assert "thông báo vừa rồi không còn giá trị" in deliverer.to("citizen")[-1].text
    assert [(actor, frm, to) for actor, frm, to in await events(app)][-2:] == [
        ("test:coord", "submitted", "recognised"),
        ("test:coord", "recognised", "submitted"),  # the undo is in the audit trail
    ]
    # held by the coordinator who undid it; deciding again, then too late to undo
    await coord.send(f"/review {number}")
    await coord.press("reject")
    await coord.send("Không cư trú tại phường")
    await coord.press("confirm")
    later = datetime.now(UTC) + timedelta(minutes=11)
    app.engine._clock = lambda: later  # eleven minutes on
    await coord.send(f"/undo {number}")
    coord.expect("Đã quá 10 phút")
    assert await status(app) == "not_recognised"


async def test_typed_decisions_only_from_staff_and_only_in_their_exact_shape(app: App) -> None:
    coord = await coordinator(app, "coord", channel="test")
    citizen = await submitted(app, "citizen")
    number = await declaration_id(app)
    await citizen.send(f"DUYET {number}")  # a citizen's text, not a command
    assert "chỉ dành cho cán bộ" not in citizen.text
    await citizen.send("Trả 2 cuốn sách cho thư viện")
    assert "chỉ dành cho cán bộ" not in citizen.text
    assert await status(app) == "submitted"

    await coord.send(f"TRA {number} 3,5 Cần ảnh giấy chứng nhận")
    coord.expect("Trả lại hồ sơ này để bổ sung?", "Chỉ số 3, 5: «Cần ảnh giấy chứng nhận»")
    await coord.send("/cancel")
    await coord.send(f"từ chối {number} Không phải người dân của phường")
    coord.expect("Từ chối hồ sơ này?", "«Không phải người dân của phường»")
    await coord.send("/cancel")
    await coord.send(f"duyệt {number}")  # never opened: a confirmation that names it
    coord.expect(
        "Xác nhận kết quả Đạt", f"Hồ sơ #{number} · Nguyễn Thị Hồng Nhung · Phường Lê Chân"
    )
    assert await status(app) == "submitted"
    await coord.send("có")
    coord.expect(f"Đã ghi kết quả hồ sơ #{number}: Đạt, 90/100 điểm")
    assert await status(app) == "recognised"
    await coord.send("Duyệt hồ sơ giúp tôi")  # not the exact shape: plain text
    assert "đã được xác nhận" not in coord.text


async def test_a_rejected_citizen_sees_the_reason_and_whom_to_call(app: App) -> None:
    coord = await coordinator(
        app, "coord", name="Phạm Thị Hạnh, phường Lê Chân", phone="0912 111 222"
    )
    citizen = await submitted(app, "citizen")
    await coord.send(f"TỪ CHỐI {await declaration_id(app)} Không cư trú tại phường")
    await coord.press("confirm")
    await citizen.send("/status")
    citizen.expect(
        "không được xác nhận. Lý do: Không cư trú tại phường",
        "Liên hệ cán bộ xét duyệt: Phạm Thị Hạnh, phường Lê Chân, điện thoại 0912 111 222.",
    )


async def test_status_says_not_submitted_when_all_ten_are_scored(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    for _ in range(10):
        await chat.send("8")
        await chat.press("none")
    chat.expect("Tổng điểm: 80/100")
    await chat.press("leave")
    await chat.send("trạng thái")
    chat.expect("Đã chấm đủ 10 chỉ số", "chưa nộp", "Nộp để xác nhận")

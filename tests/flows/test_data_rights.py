"""The citizen's data rights: /mydata (message and JSON file), corrections recorded, withdrawing
the sharing purpose, evidence retention after the decision, and one record across Telegram and
Zalo by a one-time code (wrong codes refused, then locked)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.engine import FileRef
from tests.chat import Chat, register
from tests.verification_helpers import (
    RecordingDeliverer,
    coordinator,
    declaration_id,
    sender,
    submitted,
)

PHOTO = b"\xff\xd8\xff\xe0" + b"library card " * 50


async def test_mydata_shows_everything_stored_and_sends_it_as_json(any_app: App) -> None:
    app = any_app

    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return PHOTO

    app.evidence.register("test", fetch)
    chat = Chat(app.engine, user="lan")
    await chat.send("/mydata")
    chat.expect("chưa đăng ký", "không có dữ liệu cá nhân nào được lưu")
    await register(chat)
    # a correction through /profile, recorded with what changed and by which account
    await chat.send("/profile")
    await chat.press("edit")
    await chat.press("residential_group")
    await chat.send("Tổ dân phố 12")
    await chat.press("done")
    await chat.send("/profile")
    await chat.press("consents")
    await chat.press("toggle:anonymous_statistics")  # withdrawn
    await chat.press("back")
    await chat.press("done")
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("9")
    await chat.send_file(FileRef("ph-1", "photo", "image/jpeg", len(PHOTO), "the.jpg"))
    chat.expect("Đã nhận tệp")
    await chat.send("/mydata")
    chat.expect(
        "Dữ liệu cá nhân đang được lưu", "Nguyễn Thị Hồng Nhung", "Tổ dân phố 12",
        "Tài khoản trò chuyện: kênh khác",  # the test channel has no name of its own
        "• tính vào số liệu thống kê của phong trào, không ghi tên (không bắt buộc): đồng ý ngày",
        "đã rút ngày",
        "Số lần sửa thông tin: 1",
        "Đang tự đánh giá, tổng 9 điểm, 1 minh chứng",
        "Tệp JSON đầy đủ",
    )  # fmt: skip
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (sent,) = [d for d in deliverer.to("lan") if d.file is not None]
    assert sent.file is not None and sent.file.mime_type == "application/json"
    data = json.loads(sent.file.path.read_text("utf-8"))
    assert data["profile"]["full_name"] == "Nguyễn Thị Hồng Nhung"
    assert data["profile"]["phone"] == "+84912345678"
    (change,) = data["corrections"]
    assert change["field"] == "residential_group"
    assert change["new"] == "Tổ dân phố 12" and change["old"] != "Tổ dân phố 12"
    assert change["by"] == "test:lan"
    versions = {c["notice_version"] for c in data["consents"]}
    assert versions == {app.settings.consent_notice_version}
    assert any(c["withdrawn_at"] for c in data["consents"])
    (declaration,) = data["declarations"]
    assert declaration["answers"][0] == {
        "indicator": 1, "score": 9, "note": None, "verified_score": None, "adjust_reason": None
    }  # fmt: skip
    assert declaration["evidence"][0]["kind"] == "photo"
    assert declaration["evidence"][0]["size"] == len(PHOTO)
    assert data["accounts"] == [{"channel": "test", "id": "lan", "language": "vi"}]


async def test_withdrawing_the_sharing_takes_the_submission_back_and_tells_the_coordinator(
    app: App,
) -> None:
    await coordinator(app, "coord")
    citizen = await submitted(app, "lan")
    number = await declaration_id(app)
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    await citizen.send("/profile")
    await citizen.press("consents")
    await citizen.press("toggle:share_with_ward_coordinator")
    citizen.expect("rút")
    async with app.store.transaction() as uow:
        declaration = await uow.declarations.get(number)
        events = await uow.declarations.events(number)
    assert declaration is not None and declaration.status == "draft"
    assert events[-1].reason == "consent withdrawn"
    await sender(app, deliverer).flush()
    told = [d.text for d in deliverer.to("coord")]
    assert any(f"Hồ sơ #{number} đã được người khai rút khỏi hàng chờ" in text for text in told)
    await citizen.send("/status")
    citizen.expect("Đã chấm đủ 10 chỉ số của năm", "chưa nộp")


async def test_evidence_goes_after_the_retention_period_and_the_decision_stays(
    any_app: App,
) -> None:
    app = any_app

    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return PHOTO

    app.evidence.register("test", fetch)
    coord = await coordinator(app, "coord")
    chat = Chat(app.engine, user="lan")
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    for indicator in range(1, 11):
        await chat.send("9")
        if indicator == 1:
            await chat.send_file(FileRef("ph-1", "photo", "image/jpeg", len(PHOTO), "a.jpg"))
            await chat.press("done")
        else:
            await chat.press("none")
    await chat.press("submit")
    number = await declaration_id(app)
    await coord.send(f"DUYET {number}")
    await coord.press("confirm") if "confirm" in coord.choice_ids else None
    async with app.store.transaction() as uow:
        decided = await uow.declarations.get(number)
    assert decided is not None and decided.status == "recognised", coord.text
    assert decided.decided_at is not None
    await app.housekeeping()  # within the period: nothing goes
    async with app.store.transaction() as uow:
        assert len(await uow.declarations.evidence(number)) == 1
        # the decision was taken 91 days ago
        await uow.declarations.update(
            number, decided.decided_at, decided_at=datetime.now(UTC) - timedelta(days=91)
        )
    await app.housekeeping()
    async with app.store.transaction() as uow:
        after = await uow.declarations.get(number)
        assert await uow.declarations.evidence(number) == []
        answers = await uow.declarations.answers(number)
    assert after is not None and after.evidence_purged_at is not None
    assert after.status == "recognised" and after.decision == "approved"
    assert answers[1].score == 9  # scores stay


async def test_one_record_across_telegram_and_zalo_by_a_code(any_app: App) -> None:
    app = any_app
    telegram = Chat(app.engine, user="555", channel="telegram")
    await register(telegram)
    await telegram.send("/declare")
    await telegram.press("begin")
    await telegram.send("8")
    await telegram.press("none")
    zalo = Chat(app.engine, user="zalo-abc", channel="zalo")
    await zalo.send("/link")
    zalo.expect("trên tài khoản đó gửi /link để nhận mã")
    await zalo.send("/link 000000")
    zalo.expect("Mã liên kết không đúng")
    await telegram.send("/link")
    telegram.expect("Mã liên kết:", "/link ")
    code = telegram.text.split("/link ")[1].split()[0]
    assert len(code) == 6 and code.isdigit()
    await zalo.send(f"/link {code}")
    zalo.expect("Đã liên kết", "Nguyễn Thị Hồng Nhung")
    await zalo.send("/status")
    zalo.expect("Đang tự đánh giá")  # the same declaration, continued from Zalo
    await zalo.send("/declare")
    zalo.expect("Chỉ số 2/10")
    # the code was single-use; the Telegram account was told
    other = Chat(app.engine, user="zalo-other", channel="zalo")
    await other.send(f"/link {code}")
    other.expect("Mã liên kết không đúng")
    deliverer = RecordingDeliverer(name="telegram")
    await sender(app, deliverer).flush()
    assert any(
        "vừa được liên kết thêm với một tài khoản Zalo" in d.text for d in deliverer.to("555")
    )
    async with app.store.transaction() as uow:
        assert len(await uow.citizens.list()) == 1
        (citizen,) = await uow.citizens.list()
        bound = await uow.identities.for_citizen(citizen.id)
    accounts = {(i.channel, i.external_id) for i in bound}
    assert accounts == {("telegram", "555"), ("zalo", "zalo-abc")}
    # an account with a record of its own is not merged
    await register(other)
    await telegram.send("/link")
    fresh = telegram.text.split("/link ")[1].split()[0]
    await other.send(f"/link {fresh}")
    other.expect("đã có hồ sơ riêng")


async def test_wrong_link_codes_lock_the_account(app: App) -> None:
    guesser = Chat(app.engine, user="guess", channel="zalo")
    for n in range(5):
        await guesser.send(f"/link {n:06d}")
        guesser.expect("Mã liên kết không đúng")
    owner = Chat(app.engine, user="owner", channel="telegram")
    await register(owner)
    await owner.send("/link")
    code = owner.text.split("/link ")[1].split()[0]
    await guesser.send(f"/link {code}")
    guesser.expect("phút")  # locked: even the right code waits
    async with app.store.transaction() as uow:
        identity = await uow.identities.get("zalo", "guess")
    assert identity is not None and identity.subject_id is None


async def test_the_data_rights_commands_have_vietnamese_words(app: App) -> None:
    chat = Chat(app.engine, user="words")
    await register(chat)
    await chat.send("dữ liệu của tôi")
    chat.expect("Dữ liệu cá nhân đang được lưu")
    await chat.send("lien ket tai khoan")
    chat.expect("Mã liên kết:")

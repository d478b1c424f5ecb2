"""The whole product on a ward's Zalo Official Account, against the fake OA platform over HTTP:
connecting an OA, a citizen's journey (the OA's ward offered first, photos and documents from
attachment URLs), a coordinator deciding on the same OA, signatures, the 7-day window with the
approved template, and a withdrawal that erases."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.__main__ import main
from bot.config import Settings
from bot.engine.ports import OutboxMessage
from bot.handlers.zalo_oa.start import api_of
from bot.handlers.zalo_oa.tokens import OaTokens
from tests.bots import Running, start_bot
from tests.fakes.zalo_oa import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZaloOA
from tests.verification_helpers import invite

LE_CHAN = "11383"
OA = "4321000000000000001"  # the Official Account of Phường Lê Chân
STRANGER_OA = "4321000000000000999"  # an OA of the app that no one connected
CITIZEN = "oa-user-5501"
JPEG = b"\xff\xd8\xff\xe0" + b"a photo of a certificate" * 50
PDF = b"%PDF-1.4\n" + b"a scanned certificate" * 50 + b"\n%%EOF\n"

Say = Callable[..., Awaitable[str]]


async def cli(argv: list[str]) -> int:
    """``cdht`` as typed, in a thread (it runs its own event loop; the fake server is here)."""
    return await asyncio.to_thread(main, argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOA]:
    server = await FakeZaloOA().start()
    server.add_oa(OA, "Phường Lê Chân")
    server.add_oa(STRANGER_OA, "UBND một phường khác")
    yield server
    await server.stop()


def oa_settings(settings: Settings, fake: FakeZaloOA, **overrides: object) -> Settings:
    return settings.model_copy(
        update={
            "zalo_oa_app_id": APP_ID,
            "zalo_oa_app_secret": SecretStr(APP_SECRET),
            "zalo_oa_secret_key": SecretStr(OA_SECRET_KEY),
            "zalo_oa_api_url": fake.url,
            "zalo_oa_oauth_url": fake.url,
            "zalo_oa_business_url": fake.url,
            "webhook_port": free_port(),
            "quiet_hours": None,  # reminders and broadcasts go at any hour of the test
            **overrides,
        }
    )


async def connect(settings: Settings, fake: FakeZaloOA) -> None:
    from storage import SqlStore, create_engine, upgrade

    store = SqlStore(create_engine(settings.effective_database_url))
    await upgrade(store.engine)
    tokens = OaTokens(api_of(settings), store)
    await tokens.connect(LE_CHAN, fake.grant(OA))
    await tokens.api.close()
    await store.close()


@pytest.fixture
async def obot(settings: Settings, fake: FakeZaloOA) -> AsyncIterator[Running]:
    configured = oa_settings(settings, fake, zalo_oa_template_id="100200")
    await connect(configured, fake)
    running = await start_bot(configured)
    yield running
    await running.shutdown()


def hook(running: Running) -> str:
    return f"http://127.0.0.1:{running.app.settings.webhook_port}/zalo-oa"


@pytest.fixture
def say(obot: Running, fake: FakeZaloOA) -> Say:
    """Act as a user writing to the OA, then wait for a reply containing ``expected``."""

    async def run(
        user: str,
        expected: str,
        text: str | None = None,
        event: str = "user_send_text",
        **kw: object,
    ) -> str:
        before = len(fake.sent(user))
        raw, headers = fake.event(OA, user, event, text=text, **kw)  # type: ignore[arg-type]
        assert await fake.post_event(hook(obot), raw, headers) == 200
        try:
            await fake.wait_for(lambda: any(expected in m for m in fake.sent(user)[before:]))
        except TimeoutError:
            got = [m[:160] for m in fake.sent(user)[before:]]
            raise AssertionError(f"no message with {expected!r}; got {got}") from None
        return "\n".join(fake.sent(user)[before:])

    return run


async def register(say: Say, user: str = CITIZEN) -> None:
    steps = [
        ("xin chào", "1. Đủ 16 tuổi trở lên\n2. Dưới 16 tuổi"),
        ("1", "1. Đồng ý\n2. Xem đầy đủ\n3. Không đồng ý"),
        ("đồng ý", "Đồng ý chia sẻ?"),
        ("có", "số liệu thống kê"),
        ("không", "Thuộc đối tượng nào?"),
        ("nguoi dan o phuong/xa", "họ và tên"),
        ("Phạm Văn Minh", "năm sinh"),
        ("1961", "Giới tính"),
        ("1", "số điện thoại"),
        # written to Lê Chân's page: Lê Chân is offered first
        ("0912 345 678", "Tin nhắn này gửi tới trang Zalo của Phường Lê Chân"),
        ("1", "tổ dân phố"),
        ("Tổ 7", "Phạm Văn Minh"),
        ("Đúng", "đăng ký thành công"),
    ]
    for text, expected in steps:
        await say(user, expected, text)


async def test_connect_and_list_by_command_line(
    fake: FakeZaloOA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "CDHT_DATA_DIR": str(tmp_path),
        "CDHT_ZALO_OA_APP_ID": APP_ID,
        "CDHT_ZALO_OA_APP_SECRET": APP_SECRET,
        "CDHT_ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "CDHT_ZALO_OA_API_URL": fake.url,
        "CDHT_ZALO_OA_OAUTH_URL": fake.url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CDHT_DATABASE_URL", raising=False)
    granted = fake.grant(OA)
    assert await cli(["zalo-oa", "connect", "--ward", LE_CHAN, "--refresh-token", granted]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"connected Phường Lê Chân (OA {OA}) to Phường Lê Chân;")
    assert granted not in out and fake.refreshes == 1
    assert await cli(["zalo-oa", "list"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.split("\t")[:4] == [OA, LE_CHAN, "Phường Lê Chân", "Phường Lê Chân"]
    # the granted token is spent: Zalo refuses it again, and the command says what to do
    assert await cli(["zalo-oa", "connect", "--ward", LE_CHAN, "--refresh-token", granted]) == 1
    assert "ask the OA's admin to grant access again" in capsys.readouterr().err
    # an unknown unit code is refused before anything is spent
    assert (
        await cli(["zalo-oa", "connect", "--ward", "99999", "--refresh-token", fake.grant(OA)]) == 2
    )
    assert fake.refreshes == 1


async def test_a_citizens_journey_and_a_coordinators_decision_on_the_oa(
    obot: Running, fake: FakeZaloOA, say: Say
) -> None:
    await register(say)
    await say(CITIZEN, "Chưa đọc được loại tin nhắn này", event="user_send_sticker")
    await say(CITIZEN, "khoảng 10 phút", "/declare")
    await say(CITIZEN, "Chỉ số 1/10", "1")
    await say(CITIZEN, "Minh chứng cho chỉ số 1", "9")
    photo = fake.host_file("c1.jpg", JPEG)
    await say(
        CITIZEN, "Đã nhận tệp (1/5)", event="user_send_image",
        attachments=[{"type": "image", "payload": {"url": photo}}],
    )  # fmt: skip
    document = fake.host_file("c1.pdf", PDF, "application/pdf")
    await say(
        CITIZEN, "Đã nhận tệp (2/5)", event="user_send_file",
        attachments=[{"type": "file", "payload": {"url": document, "name": "c1.pdf",
                                                  "size": str(len(PDF))}}],
    )  # fmt: skip
    await say(CITIZEN, "Chỉ số 2/10", "xong")
    for indicator in range(2, 11):
        await say(CITIZEN, f"cho chỉ số {indicator}", "8")
        following = f"Chỉ số {indicator + 1}/10" if indicator < 10 else "Tổng điểm: 81/100"
        await say(CITIZEN, following, "khong co minh chung")
    await say(CITIZEN, "Đã nộp", "1")
    async with obot.app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        (declaration,) = await uow.declarations.list()
        files = await uow.declarations.evidence(declaration.id)
    assert (citizen.channel, citizen.ward_code, citizen.phone) == (
        "zalo_oa",
        LE_CHAN,
        "+84912345678",
    )
    assert sorted(f.mime_type for f in files) == ["application/pdf", "image/jpeg"]
    assert {obot.app.evidence.path(f.sha256).read_bytes() for f in files} == {JPEG, PDF}
    # every reply went out through the OA written to, none longer than Zalo takes
    assert all(c.oa_id == OA for c in fake.calls if c.path == "cs")
    assert all(len(m) <= 2000 for m in fake.sent(CITIZEN))
    # the ward's coordinator, on the same OA, is told and decides by typing
    coordinator = "oa-coord-1"
    code = await invite(obot.app)
    await say(coordinator, "Lê Chân", f"/coordinator {code}")
    await say(coordinator, "Số điện thoại", "Lương Văn Dũng, cán bộ phường Lê Chân")
    await say(coordinator, "Đã lưu", "bo qua")
    text = await say(coordinator, "#1", "/queue")
    assert "DUYET" in text
    await say(coordinator, "Xác nhận kết quả Đạt", "duyệt 1")
    await say(coordinator, "Đã ghi kết quả hồ sơ #1", "có")
    await fake.wait_for(lambda: any("Chúc mừng" in m for m in fake.sent(CITIZEN)))
    await say(CITIZEN, "đã được xác nhận với tổng điểm 81", "/status")


async def test_a_forged_or_missing_mac_is_refused_and_changes_nothing(
    obot: Running, fake: FakeZaloOA
) -> None:
    raw, headers = fake.event(OA, CITIZEN, text="xin chào", signature="0" * 64)
    assert await fake.post_event(hook(obot), raw, headers) == 401
    raw, headers = fake.event(OA, CITIZEN, text="xin chào")
    assert await fake.post_event(hook(obot), raw, {"Content-Type": "application/json"}) == 401
    tampered = raw.replace("xin chào".encode(), b"/mydata")
    assert await fake.post_event(hook(obot), tampered, headers) == 401
    # an event of an OA of the app that no one connected here is taken and ignored
    raw, headers = fake.event(STRANGER_OA, CITIZEN, text="xin chào")
    assert await fake.post_event(hook(obot), raw, headers) == 200
    await asyncio.sleep(0.3)
    async with obot.app.store.transaction() as uow:
        assert await uow.updates.backlog("zalo_oa") == []
        assert await uow.identities.get("zalo_oa", f"{OA}:{CITIZEN}") is None
    assert fake.sent(CITIZEN) == []


async def remind(running: Running, user: str) -> int:
    from bot.domain.usecases.notices import text_message
    from bot.engine import t

    now = datetime.now(UTC)
    message = text_message("zalo_oa", f"{OA}:{user}", t("reminder.start"), kind="reminder")
    assert isinstance(message, OutboxMessage)
    async with running.app.store.transaction() as uow:
        return await uow.outbox.add(message, now)


async def outcome(running: Running, row_id: int) -> tuple[str, str | None, str | None]:
    from sqlalchemy import select

    from storage.models import outbox

    for _ in range(100):
        # through the store (on SQLite its one writer): a connection of the test's own would
        # take the database's lock from the bot
        async with running.app.store.transaction() as uow:
            conn = uow.outbox._conn
            row = (
                await conn.execute(
                    select(outbox.c.status, outbox.c.sent_via, outbox.c.last_error).where(
                        outbox.c.id == row_id
                    )
                )
            ).one()
        if row.status != "pending":
            return str(row.status), row.sent_via, row.last_error
        await asyncio.sleep(0.1)
    raise AssertionError("the reminder was not settled")


async def test_a_reminder_goes_as_the_template_outside_the_window_and_as_a_message_within(
    obot: Running, fake: FakeZaloOA, say: Say
) -> None:
    await register(say, "seen-today")
    await register(say, "seen-8-days-ago")
    fake.oas[OA].last_interaction["seen-8-days-ago"] = fake.clock() - 8 * 24 * 3600
    today = await remind(obot, "seen-today")
    assert await outcome(obot, today) == ("sent", None, None)
    before = len(fake.templates())
    late = await remind(obot, "seen-8-days-ago")
    assert await outcome(obot, late) == ("sent", "template", None)
    (template,) = fake.templates()[before:]
    assert (template["template_id"], template["user_id"]) == ("100200", "seen-8-days-ago")
    assert template["template_data"] == {"ward": "Phường Lê Chân"}


async def test_without_a_template_nobody_outside_the_window_is_messaged(
    settings: Settings, fake: FakeZaloOA
) -> None:
    configured = oa_settings(settings, fake)  # no CDHT_ZALO_OA_TEMPLATE_ID
    await connect(configured, fake)
    running = await start_bot(configured)
    try:
        fake.oas[OA].last_interaction["away"] = fake.clock() - 8 * 24 * 3600
        row = await remind(running, "away")
        status, via, error = await outcome(running, row)
        assert (status, via) == ("failed", None)
        assert error is not None and "not in window" in error
        assert fake.templates() == [] and fake.sent("away") == []
    finally:
        await running.shutdown()


async def test_a_withdrawal_erases_the_citizen_as_delete_my_data_does(
    obot: Running, fake: FakeZaloOA, say: Say
) -> None:
    await register(say)
    # typing the event's name is a command like any other, not a withdrawal
    await say(CITIZEN, "/", "/withdrawn")
    async with obot.app.store.transaction() as uow:
        assert len(await uow.citizens.list()) == 1
    key = f"account:{OA}:{CITIZEN}"  # when the user last wrote (the 7-day window)
    async with obot.app.store.transaction() as uow:
        assert await uow.channel_state.get("zalo_oa", key) is not None
    raw, headers = fake.event(OA, CITIZEN, "user_withdraw")
    assert await fake.post_event(hook(obot), raw, headers) == 200
    for _ in range(100):
        async with obot.app.store.transaction() as uow:
            if not await uow.citizens.list():
                break
        await asyncio.sleep(0.1)
    async with obot.app.store.transaction() as uow:
        assert await uow.citizens.list() == []
        assert await uow.channel_state.get("zalo_oa", key) is None  # erased with the account


async def test_a_broadcast_says_beforehand_how_many_go_as_templates_and_counts_them_after(
    obot: Running, fake: FakeZaloOA, say: Say
) -> None:
    from bot.domain.usecases.broadcasts import audience, broadcast
    from bot.domain.usecases.roles import OPERATOR

    await register(say, "seen-today")
    await register(say, "away-8-days")
    away = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    async with obot.app.store.transaction() as uow:  # as if the last message were 8 days old
        await uow.channel_state.put(
            "zalo_oa", f"account:{OA}:away-8-days", {"at": away}, datetime.now(UTC)
        )
    fake.oas[OA].last_interaction["away-8-days"] = fake.clock() - 8 * 24 * 3600
    everyone = audience(wards=[LE_CHAN], year=2026)
    preview_notes = obot.app.services.preview_notes
    assert preview_notes is not None
    async with obot.app.store.transaction() as uow:
        notes = await preview_notes(uow, everyone, datetime.now(UTC))
    (note,) = notes
    assert (note.key, note.params["count"]) == ("zalo_oa.preview.template", 1)
    async with obot.app.store.transaction() as uow:
        done = await broadcast(
            uow, OPERATOR, "Họp tổ dân phố tối thứ Sáu", everyone, datetime.now(UTC)
        )
    assert done.broadcast is not None
    await fake.wait_for(lambda: len(fake.templates()) == 1)
    for _ in range(100):
        async with obot.app.store.transaction() as uow:
            counts = await uow.broadcasts.report(done.broadcast.id)
        if counts["pending"] == 0:
            break
        await asyncio.sleep(0.1)
    assert (counts["sent"], counts["template"], counts["failed"]) == (1, 1, 0)
    assert any("Họp tổ dân phố" in m for m in fake.sent("seen-today"))
    assert fake.templates()[0]["user_id"] == "away-8-days"

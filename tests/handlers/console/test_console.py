"""The console chat: numbered menus, typed answers, the same engine and database."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import text

from bot.app import App
from bot.engine import Choice, Reply
from bot.handlers.console import ConsoleChannel
from bot.handlers.text_menu import render_menu, split_text

ANSWERS = [
    "/start",  # typed by the user: the console sends nothing on their behalf
    "1",  # 16 or older
    "1",  # consent: agree
    "dong y",  # sharing with the coordinator: agree, typed without accents
    "2",  # anonymous statistics: the numbered entry "Không đồng ý"
    "nguoi dan o phuong/xa",  # group typed without accents
    "Phạm Thị Thu Hà",
    "1992",
    "2",  # gender: female
    "0912 345 678",
    "le chan",
    "1",
    "Tổ dân phố 7",
    "xac nhan dang ky",
    "/quit",
]


async def test_a_registration_typed_in_the_console(app: App) -> None:
    out = io.StringIO()
    console = ConsoleChannel(
        app.engine,
        app.translator,
        "vi",
        user_id="cli",
        stdin=io.StringIO("\n".join(ANSWERS) + "\n"),
        stdout=out,
    )
    await console.run()
    screen = out.getvalue()
    assert "1. Đồng ý\n2. Xem đầy đủ\n3. Không đồng ý" in screen
    assert "(Trả lời bằng số thứ tự hoặc gõ nội dung lựa chọn.)" in screen
    assert "Cảm ơn Phạm Thị Thu Hà, đã đăng ký thành công!" in screen
    assert "bấm" not in screen.lower()  # no buttons here: no text mentions them
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
    assert (citizen.channel, citizen.gender, citizen.ward_name) == (
        "console",
        "female",
        "Phường Lê Chân",
    )


async def test_end_of_input_leaves_quietly_and_keeps_progress(app: App) -> None:
    out = io.StringIO()
    await ConsoleChannel(
        app.engine, app.translator, "vi", stdin=io.StringIO("/start\n1\n1\n"), stdout=out
    ).run()
    async with app.store.engine.connect() as conn:
        replies = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    out = io.StringIO()
    await ConsoleChannel(app.engine, app.translator, "vi", stdin=io.StringIO(""), stdout=out).run()
    # reopened: the question it waits on, shown as it stands; no /start sent for the user
    assert "Tiếp tục từ chỗ đang dừng:" in out.getvalue()
    assert "Đồng ý chia sẻ?" in out.getvalue()
    async with app.store.engine.connect() as conn:
        after = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    assert after == replies  # nothing answered: nothing was sent as the user


async def test_a_new_console_user_is_asked_nothing_until_they_type(app: App) -> None:
    out = io.StringIO()
    await ConsoleChannel(app.engine, app.translator, "vi", stdin=io.StringIO(""), stdout=out).run()
    assert "Gõ /start để bắt đầu" in out.getvalue()
    assert "Chào mừng" not in out.getvalue()
    async with app.store.transaction() as uow:
        assert await uow.identities.get("console", "local") is None


def test_menu_rendering_numbers_choices_in_english(app: App) -> None:
    reply = Reply("Pick one", "en", (Choice("a", "Apple"), Choice("b", "Banana")))
    assert render_menu(reply, app.translator) == (
        "Pick one\n\n1. Apple\n2. Banana\n(Reply with the number or type the option.)"
    )


def test_split_text_keeps_lines_and_words_whole() -> None:
    text = "\n".join(f"{n}. " + "chữ " * 30 for n in range(1, 40))
    pieces = split_text(text, 500)
    assert all(len(piece) <= 500 for piece in pieces)
    assert "\n".join(pieces).split() == text.split()
    long_line = "từ " * 400
    pieces = split_text(long_line, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == long_line.split()


async def test_a_declaration_typed_in_the_console_with_a_local_file(
    app: App, tmp_path: Path
) -> None:
    (tmp_path / "the.pdf").write_bytes(b"%PDF-1.4\nmy learning plan")
    scores = ["/declare", "bat dau", "8", f"/file {tmp_path / 'the.pdf'}", "xong"]
    for _ in range(2, 11):
        scores += ["9", "khong co minh chung"]
    lines = [*ANSWERS[:-1], *scores, "nop de xac nhan", "/status", "/quit"]
    out = io.StringIO()
    console = ConsoleChannel(
        app.engine, app.translator, "vi", stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out
    )
    app.evidence.register(console.name, console.fetch_file)
    await console.run()
    screen = out.getvalue()
    assert "0 · 1 · 2 · 3 · 4 · 5 · 6 · 7 · 8 · 9 · 10\n• Để sau" in screen
    assert "(Gõ số điểm, hoặc gõ tên một mục ở trên.)" in screen
    assert "Đã nhận tệp (1/5)" in screen
    assert "Tổng điểm: 89/100" in screen
    assert "Đã nộp bản tự đánh giá năm" in screen
    assert "đang chờ cán bộ phường/xã xác nhận" in screen


async def test_each_console_user_sees_their_own_messages(app: App) -> None:
    from tests.verification_helpers import coordinator, submitted

    await coordinator(app, "coord", channel="console")
    await submitted(app, "citizen")  # on the test channel; the notification is for console:coord
    bystander = ConsoleChannel(app.engine, app.translator, "vi", user_id="bystander",
                               stdin=io.StringIO(""), stdout=io.StringIO())  # fmt: skip
    assert await app.outbox_sender(bystander).flush() == 0  # not theirs: left for coord
    out = io.StringIO()
    coord = ConsoleChannel(
        app.engine, app.translator, "vi", user_id="coord", stdin=io.StringIO(""), stdout=out
    )
    assert await app.outbox_sender(coord).flush() == 1
    assert "Hồ sơ mới cần xác nhận" in out.getvalue()
    assert "→" not in out.getvalue()


async def test_a_staff_console_is_not_asked_to_register(app: App) -> None:
    from tests.verification_helpers import invite

    code = await invite(app)
    lines = [f"/coordinator {code}", "Đỗ Văn Hùng, cán bộ phường Lê Chân", "bo qua", "/start",
             "xin chào", "/quit"]  # fmt: skip
    out = io.StringIO()
    await ConsoleChannel(
        app.engine, app.translator, "vi", user_id="hung",
        stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out,
    ).run()  # fmt: skip
    screen = out.getvalue()
    assert screen.count("Tài khoản này là cán bộ phụ trách") == 2  # /start and the greeting
    assert "Chào mừng" not in screen and "Đồng ý để đăng ký" not in screen
    async with app.store.transaction() as uow:
        assert await uow.citizens.list() == []

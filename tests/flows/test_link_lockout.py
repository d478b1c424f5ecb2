"""The lock-out of ``/link`` counts wrong codes per chat account and survives the erasure of
that account's data: deleting one's data and registering again does not start a fresh count.
5 wrong codes in a row, then the account waits 1, 2, 4 … minutes, as the README promises; the
counter names no account (a keyed hash of it), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.app import App
from tests.chat import Chat, register

WRONG = "Mã liên kết không đúng"
LOCKED = "Đã nhập sai mã nhiều lần. Vui lòng thử lại sau"


async def delete_my_data(chat: Chat) -> None:
    await chat.send("/profile")
    await chat.press("delete")
    await chat.press("delete")
    chat.expect("Đã xóa toàn bộ dữ liệu")


async def test_deleting_ones_data_does_not_reset_the_link_lock_out(any_app: App) -> None:
    app = any_app
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    app.engine._clock = lambda: now
    owner = Chat(app.engine, user="owner", channel="telegram")
    await register(owner, name="Lê Văn Thành")
    guesser = Chat(app.engine, user="guesser-42", channel="zalo")
    answers: list[str] = []
    for cycle in range(6):  # register, delete my data, guess five times; six times over
        await register(guesser, name="Trần Thị Lan")
        await delete_my_data(guesser)
        for n in range(5):
            await guesser.send(f"/link {cycle * 5 + n:06d}")
            answers.append(guesser.text)
    assert sum(WRONG in answer for answer in answers) == 5  # not 30
    assert all(WRONG in answer for answer in answers[:5])
    assert all(f"{LOCKED} 1 phút" in answer for answer in answers[5:]), answers[5:8]
    # even the right code waits while the account is locked
    await owner.send("/link")
    code = owner.text.split("/link ")[1].split()[0]
    await guesser.send(f"/link {code}")
    guesser.expect(f"{LOCKED} 1 phút")

    # then 1, 2, 4 minutes after each further wrong code
    for minutes in (1, 2, 4):
        now += timedelta(minutes=minutes, seconds=1)
        await register(guesser, name="Trần Thị Lan")
        await delete_my_data(guesser)
        await guesser.send("/link 999999")
        guesser.expect(WRONG)
        await guesser.send("/link 999998")
        guesser.expect(f"{LOCKED} {minutes * 2} phút")

    # the counter holds a keyed hash of the account, never the account
    async with app.store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT channel, external_id FROM code_attempts"))).all()
    assert [row[0] for row in rows] == ["zalo"]
    assert "guesser" not in rows[0][1] and len(rows[0][1]) == 64

"""Vietnamese command words: the whole message is the command, with or without diacritics
unless its folded form is a common word or name ("hủy": Huy, "dừng": Dũng, đúng)."""

from __future__ import annotations

import pytest

from bot.app import App
from tests.chat import Chat, answer_until, register


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("trợ giúp", "Các lệnh dùng được bất cứ lúc nào"),
        ("tro giup", "Các lệnh dùng được bất cứ lúc nào"),
        ("trạng thái", "Đã đăng ký ngày"),
        ("Tình trạng hồ sơ", "Đã đăng ký ngày"),
        ("hồ sơ", "Thông tin đã đăng ký"),
        ("ho so", "Thông tin đã đăng ký"),
        ("tự đánh giá", "Tự đánh giá Công dân học tập năm"),
        ("khai", "Tự đánh giá Công dân học tập năm"),
        ("đăng ký", "Xin chào Nguyễn Thị Hồng Nhung"),
        ("dừng", "Ngừng nhận tin thông báo"),
    ],
)
async def test_each_word_for_a_registered_citizen(app: App, typed: str, expected: str) -> None:
    chat = Chat(app.engine)
    await register(chat)
    await chat.send(typed)
    chat.expect(expected)


async def test_back_and_cancel_words_mid_registration(app: App) -> None:
    chat = Chat(app.engine)
    await answer_until(chat, "birth_year")
    await chat.send("quay lại")
    chat.expect("họ và tên")
    await chat.send("Huy")  # a given name, not "hủy": an answer (a full name needs two words)
    chat.expect("ít nhất hai chữ", "họ và tên đầy đủ")
    await chat.send("Lê Huy")
    chat.expect("năm sinh")
    await chat.send("hủy")
    chat.expect("Đã hủy đăng ký")
    async with app.store.transaction() as uow:
        assert await uow.identities.get("test", "1001") is None


async def test_a_word_that_answers_the_question_is_an_answer(app: App) -> None:
    chat = Chat(app.engine)
    await register(chat)
    await chat.send("/declare")
    await chat.send("bắt đầu")  # the intro's own choice "Bắt đầu", not the command /start
    chat.expect("Chỉ số 1/10")
    await chat.send("2")  # at indicator 1 a number is a score, as the prompt asks
    chat.expect("Minh chứng cho chỉ số 1 (tự chấm 2 điểm)")
    await chat.send("/language")
    await chat.send("2")  # now the language menu's second entry, not a score
    chat.expect("Switched to English")
    async with app.store.transaction() as uow:
        (citizen,) = await uow.citizens.list()
        declaration = await uow.declarations.latest(citizen.id)
        assert declaration is not None
        answers = await uow.declarations.answers(declaration.id)
    assert answers[1].score == 2

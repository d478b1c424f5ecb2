"""A file's name, as the sender's app gave it, is cleaned like any text a citizen types before it
is stored, whatever the channel: control and invisible characters out, white space runs as one
space, at most 128 characters with the extension kept."""

from __future__ import annotations

from bot.app import App
from bot.engine import FileRef
from tests.chat import Chat, register

PDF = b"%PDF-1.4\n" + b"learning plan " * 50


def test_file_names_are_cleaned_like_other_text() -> None:
    from bot.services.evidence import MAX_FILE_NAME, clean_file_name

    assert clean_file_name("plan\x00.pdf") == "plan.pdf"
    assert clean_file_name("kế\u200b hoạch\t\tnăm\u202e 2026.pdf") == "kế hoạch năm 2026.pdf"
    assert clean_file_name("\u200b\u2800\x07") is None  # nothing visible
    assert clean_file_name(None) is None
    long = clean_file_name("chứng chỉ " * 40 + ".pdf")
    assert long is not None and len(long) == MAX_FILE_NAME and long.endswith(".pdf")
    assert clean_file_name("x" * 400) == "x" * MAX_FILE_NAME


async def test_a_stored_evidence_name_is_clean_on_every_channel(any_app: App) -> None:
    app = any_app

    async def fetch(file: FileRef, max_bytes: int) -> bytes:
        return PDF

    app.evidence.register("test", fetch)
    chat = Chat(app.engine, user="nul-name")
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    await chat.send("9")
    await chat.send_file(FileRef("d1", "document", "application/pdf", name="ke\x00hoach\u200b.pdf"))
    chat.expect("Đã nhận tệp (1/5)")
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
        (evidence,) = await uow.declarations.evidence(declaration.id)
    assert evidence.original_name == "kehoach.pdf"

"""`/file PATH` in the console: a path that is not there is the sender's mistake, said as
such («Không tìm thấy tệp»), not a transmission fault with a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import App
from bot.handlers.console import ConsoleChannel, parse_line


@pytest.mark.parametrize("typed", ["khong-co.pdf", "thu-muc", "thu-muc/../ghi-chu.txt/x.pdf"])
async def test_a_file_that_is_not_there_is_not_found(
    typed: str, app: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "thu-muc").mkdir()
    (tmp_path / "ghi-chu.txt").write_text("ghi chú")
    console = ConsoleChannel(app.engine, app.translator, "vi")
    app.evidence.register(console.name, console.fetch_file)
    inbound = parse_line(f"/file {tmp_path / typed}", "local")
    assert inbound.file is not None
    with caplog.at_level(logging.INFO):
        received = await app.evidence.receive(console.name, inbound.file)
    assert received.problem == "not_found"
    assert caplog.records == []  # nothing for an operator to look into


async def test_a_file_that_is_there_is_read(app: App, tmp_path: Path) -> None:
    (tmp_path / "ke-hoach.pdf").write_bytes(b"%PDF-1.4\nke hoach hoc tap")
    console = ConsoleChannel(app.engine, app.translator, "vi")
    app.evidence.register(console.name, console.fetch_file)
    inbound = parse_line(f"/file {tmp_path / 'ke-hoach.pdf'}", "local")
    assert inbound.file is not None
    received = await app.evidence.receive(console.name, inbound.file)
    assert received.problem is None and received.mime_type == "application/pdf"

"""`cdht console` (and `cdht run` without a channel, which opens it) serves the staff's web
console on this machine: the link `/web` prints opens it in a browser here. And a terminal
that shows a chat shows no library's log lines between the chat's."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import main
from bot.handlers.web import WebServer

LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/console/signin/[A-Za-z0-9_-]+")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(tmp_path: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
    return {**base, "CDHT_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **env}


async def answer_to(stream: asyncio.StreamReader) -> str:
    """The console's output up to its prompt after the first answer (the banner, a prompt,
    the answer, the next prompt)."""
    seen = ""
    while seen.count("> ") < 2:
        chunk = await stream.read(4096)
        assert chunk, f"the console ended:\n{seen}"
        seen += chunk.decode("utf-8", errors="replace")
    return seen


@pytest.mark.parametrize(
    ("command", "admin"),
    [(["console", "--user", "boss"], "console:boss"), (["run"], "console:local")],
)
async def test_the_link_web_prints_in_the_console_opens_the_web_console(
    command: list[str], admin: str, tmp_path: Path
) -> None:
    port = free_port()
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *command,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=tmp_path,
        env=clean_env(tmp_path, CDHT_ADMINS=admin, CDHT_WEBHOOK_PORT=str(port)),
    )  # fmt: skip
    assert bot.stdin is not None and bot.stdout is not None and bot.stderr is not None
    try:
        bot.stdin.write(b"/web\n")
        await bot.stdin.drain()
        async with asyncio.timeout(120):  # a bound for a stuck process, not a measurement
            answer = await answer_to(bot.stdout)
        link = LINK.search(answer)
        assert link is not None, answer
        assert int(link.group(1)) == port  # the port asked for, free here
        # a browser keeps the session cookie of 127.0.0.1; aiohttp's jar needs unsafe=True to
        # keep cookies of an IP address (https://github.com/aio-libs/aiohttp/pull/1005)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            async with browser.get(link.group(0)) as page:
                assert page.status == 200
                assert "<h1>Đăng nhập trang quản lý</h1>" in await page.text()
            async with browser.post(link.group(0)) as signed_in:  # the page's one button
                assert signed_in.status == 200
                assert str(signed_in.url).endswith("/console/")
                assert "<h1>Hồ sơ chờ xác nhận</h1>" in await signed_in.text()
        bot.stdin.write(b"/quit\n")
        await bot.stdin.drain()
        async with asyncio.timeout(60):
            assert await bot.wait() == 0
        err = (await bot.stderr.read()).decode()
        assert "Traceback" not in err
        assert "web: listening" not in err  # our own INFO is not news in a chat's terminal
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()


async def test_a_port_in_use_is_replaced_by_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        server = WebServer("127.0.0.1", port)
        url = server.bind(any_free_port=True)
        try:
            assert server.port != port and url == f"http://127.0.0.1:{server.port}"
            with pytest.raises(OSError, match="in use"):
                WebServer("127.0.0.1", port).bind()  # `cdht run`'s server does not move
        finally:
            await server.stop()


def test_the_consoles_terminal_shows_no_librarys_info_and_warnings_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `cdht console` sets it up (here for a chat that ends at once): fontTools subsetting
    a letter's font logs at INFO, which is not for the chat; a warning of our own reaches
    stderr, on one line, its traceback folded."""
    for name in list(os.environ):
        if name.startswith("CDHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDHT_WEBHOOK_PORT", str(free_port()))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # the chat ends at once
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(["console"]) == 0
        capsys.readouterr()
        logging.getLogger("fontTools.subset").info("Glyph names: ['.notdef', 'A', 'B']")
        logging.getLogger("fontTools.ttLib.ttFont").setLevel(logging.INFO)  # even so
        logging.getLogger("fontTools.ttLib.ttFont").info("Reading 'glyf' table from disk")
        logging.getLogger("aiohttp.access").info('127.0.0.1 "GET /console/ HTTP/1.1" 200')
        logging.getLogger("bot.handlers.web").info("web: listening on 127.0.0.1:8080")
        try:
            raise FileNotFoundError(2, "No such file or directory")
        except FileNotFoundError:
            logging.getLogger("bot.services.evidence").exception("evidence not stored:\nnope")
        out, err = capsys.readouterr()
        assert out == ""
        assert err == (
            "error: evidence not stored: nope (FileNotFoundError: [Errno 2] No such file or "
            "directory)\n"
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("fontTools.ttLib.ttFont").setLevel(logging.NOTSET)
        for name in ("bot", "cdht", "storage"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def test_cdht_runs_log_keeps_our_news_and_drops_a_librarys_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.app import configure_logging
    from bot.config import Settings

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging(Settings(_env_file=None, data_dir=tmp_path))
        logging.getLogger("fontTools.subset").info("Glyph names: ['.notdef', 'A', 'B']")
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        logging.getLogger("cdht").info("serving telegram (ptb), zalo")
        logging.getLogger("aiohttp.server").error("Error handling request")
        lines = capsys.readouterr().err.splitlines()
        assert [line.split(" ", 2)[2] for line in lines] == [
            "INFO cdht: serving telegram (ptb), zalo",
            "ERROR aiohttp.server: Error handling request",
        ]
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in ("bot", "cdht", "storage"):
            logging.getLogger(name).setLevel(logging.NOTSET)

"""python-telegram-bot over aiohttp (``bot/handlers/telegram/ptb_aiohttp.py``): what the Bot API
receives (a JSON body; multipart uploads whole, under the Bot API's field names), how
failures reach the channel (a timeout is ``TimedOut``, a refused connection ``NetworkError``,
nginx's HTML page where JSON was expected the outbox's ``Transient``), polling on a connection
of its own, and sessions closed at shutdown. httpx, which python-telegram-bot still imports,
sends nothing."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import socket
import urllib.request
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
from aiohttp import BodyPartReader, web
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import RequestData

from bot.handlers.telegram.ptb_aiohttp import AiohttpRequest
from bot.handlers.telegram.ptb_api import PtbApi
from bot.services.outbox import Transient
from tests.fakes.telegram_api import NGINX_502, TOKEN, FakeTelegram, Fault

USER = 555401
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"}}


@dataclass
class Part:
    name: str | None
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Seen:
    method: str
    content_type: str
    user_agent: str
    fields: dict[str, str] = field(default_factory=dict)
    body: Any = None  # a JSON body, as parsed
    files: list[Part] = field(default_factory=list)


@dataclass
class Recorder:
    """A Bot API stand-in that records each request's body part by part; ``pause`` seconds
    before answering; ``in_flight``: the most requests it held at once."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    pause: float = 0.0
    held: int = 0
    in_flight: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)  # the pauses end at once

    async def handle(self, request: web.Request) -> web.Response:
        seen = Seen(
            request.match_info["method"], request.content_type, request.headers["User-Agent"]
        )
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                assert isinstance(part, BodyPartReader)
                data = await part.read()
                if part.filename is None:
                    seen.fields[part.name or ""] = data.decode()
                else:
                    kind = part.headers.get("Content-Type")
                    seen.files.append(Part(part.name, part.filename, kind, bytes(data)))
        elif request.content_type == "application/json":
            seen.body = json.loads(await request.read())
        else:
            seen.fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.seen.append(seen)
        self.held += 1
        self.in_flight = max(self.in_flight, self.held)
        try:
            await asyncio.wait_for(self.released.wait(), self.pause)
        except TimeoutError:
            pass
        finally:
            self.held -= 1
        return web.json_response({"ok": True, "result": MESSAGE})


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    app = web.Application(client_max_size=50 * 1024 * 1024)
    app.router.add_post("/bot{token}/{method}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recorder.url = f"http://127.0.0.1:{port}"
    yield recorder
    recorder.released.set()
    await runner.cleanup()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def no_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-telegram-bot imports httpx; nothing may send through it (httpcore would look
    for sniffio on every request)."""

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request went through httpx")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nobody listens there once it is closed


async def using(api: PtbApi, act: Callable[[PtbApi], Awaitable[object]]) -> object:
    try:
        return await act(api)
    finally:
        await api.close()


# -- what arrives ----------------------------------------------------------------------------


async def test_a_document_arrives_whole_with_its_name_and_caption(recorder: Recorder) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 64
    name = 'Giấy chứng nhận "2026".pdf'
    api = PtbApi(TOKEN, recorder.url)
    await using(api, lambda a: a.send_document(USER, data, name, "Chúc mừng Lan"))
    [seen] = recorder.seen
    assert seen.method == "sendDocument"
    assert seen.content_type == "multipart/form-data"
    assert seen.user_agent.startswith("python-telegram-bot")
    assert seen.fields == {"chat_id": str(USER), "caption": "Chúc mừng Lan"}
    [part] = seen.files
    assert part.name == "document"
    assert part.filename == "Giấy chứng nhận %222026%22.pdf"  # as httpx encodes a quote
    assert part.content_type == "application/pdf"
    assert part.data == data


async def test_a_photo_over_a_megabyte_arrives_whole(recorder: Recorder) -> None:
    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8192  # 2 MB: sent from a buffer
    api = PtbApi(TOKEN, recorder.url)
    await using(api, lambda a: a.send_photo(USER, data, "minh-chung.jpg", "Minh chứng"))
    [seen] = recorder.seen
    assert (seen.method, seen.fields) == (
        "sendPhoto",
        {"chat_id": str(USER), "caption": "Minh chứng"},
    )
    [part] = seen.files
    assert (part.name, part.filename, part.content_type) == (
        "photo",
        "minh-chung.jpg",
        "image/jpeg",
    )
    assert part.data == data


async def test_a_message_is_one_json_object_its_keyboard_nested(recorder: Recorder) -> None:
    """The Bot API takes "application/json (except for uploading files)"
    (https://core.telegram.org/bots/api#making-requests); the keyboard is an object inside it,
    not a JSON string in a form field."""
    markup = {"inline_keyboard": [[{"text": "Đồng ý", "callback_data": "yes"}]]}
    api = PtbApi(TOKEN, recorder.url)
    await using(api, lambda a: a.send_message(USER, "Xin chào Lan, đăng ký thành công", markup))
    [seen] = recorder.seen
    assert (seen.method, seen.content_type) == ("sendMessage", "application/json")
    assert seen.body == {
        "chat_id": USER,
        "text": "Xin chào Lan, đăng ký thành công",
        "reply_markup": markup,
    }


async def test_polling_has_a_connection_of_its_own(fake: FakeTelegram) -> None:
    """A long poll in flight does not hold up a reply, even with one connection for calls."""
    api = PtbApi(TOKEN, fake.url, connections=1)
    try:
        poll = asyncio.ensure_future(api.get_updates(None, 5))
        await asyncio.sleep(0.2)  # the poll is held by the server
        await asyncio.wait_for(api.send_message(USER, "trả lời", None), timeout=1)
        assert not poll.done()
        await fake.send_text(USER, "xin chào")
        [update] = await asyncio.wait_for(poll, timeout=5)
        assert update["message"]["text"] == "xin chào"
    finally:
        await api.close()


async def test_calls_beyond_the_pool_wait_for_a_connection(recorder: Recorder) -> None:
    recorder.pause = 0.2
    api = PtbApi(TOKEN, recorder.url, connections=2)
    sends = [api.send_message(USER, f"tin {n}", None) for n in range(6)]
    await using(api, lambda a: asyncio.gather(*sends))
    assert len(recorder.seen) == 6
    assert recorder.in_flight == 2


# -- failures --------------------------------------------------------------------------------


async def test_a_timeout_is_timed_out(recorder: Recorder) -> None:
    recorder.pause = 5.0
    request = AiohttpRequest(read_timeout=0.2)
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{recorder.url}/bot{TOKEN}/sendMessage", RequestData())
    finally:
        await request.shutdown()


async def test_a_timeout_reaches_the_channel_as_transient(recorder: Recorder) -> None:
    recorder.pause = 5.0
    request = AiohttpRequest(read_timeout=0.2)
    try:
        with pytest.raises(Transient, match="TimedOut"):
            await PtbApi(TOKEN, recorder.url, request=request).send_message(USER, "chậm", None)
    finally:
        await request.shutdown()


async def test_a_refused_connection_is_a_network_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    request = AiohttpRequest()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"{url}/bot{TOKEN}/getMe", RequestData())
        assert not isinstance(caught.value, TimedOut)
        assert "ClientConnectorError" in caught.value.message
    finally:
        await request.shutdown()
    api = PtbApi(TOKEN, url)
    with pytest.raises(Transient, match="NetworkError"):
        await using(api, lambda a: a.send_message(USER, "không ai nghe", None))


async def test_an_html_page_where_json_was_expected(fake: FakeTelegram) -> None:
    """nginx's 502 page: python-telegram-bot's NetworkError naming the status; the channel's
    ``Transient``. An HTML page with 200: "Invalid server response", ``Transient`` too."""
    request = AiohttpRequest()
    try:
        fake.fail("sendMessage", status=502, html=True)
        with pytest.raises(NetworkError, match=r"Bad Gateway \(502\)"):
            await request.post(f"{fake.url}/bot{TOKEN}/sendMessage", RequestData())
    finally:
        await request.shutdown()
    fake.fail("sendMessage", status=502, html=True)
    with pytest.raises(Transient, match="NetworkError"):
        await using(PtbApi(TOKEN, fake.url), lambda a: a.send_message(USER, "x", None))
    fake.faults["sendMessage"] = [Fault(200, NGINX_502, "text/html")]
    request = AiohttpRequest()
    try:
        with pytest.raises(TelegramError, match="Invalid server response"):
            await request.post(f"{fake.url}/bot{TOKEN}/sendMessage", RequestData())
    finally:
        await request.shutdown()
    fake.faults["sendMessage"] = [Fault(200, NGINX_502, "text/html")]
    with pytest.raises(Transient, match="TelegramError"):
        await using(PtbApi(TOKEN, fake.url), lambda a: a.send_message(USER, "x", None))


# -- lifecycle -------------------------------------------------------------------------------


def resource_warnings(action: Callable[[], None]) -> list[str]:
    """The ResourceWarnings raised while ``action`` runs and the garbage is collected (each
    record let go, since it holds its source: an unclosed session holds its connector)."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
        for _ in range(3):
            gc.collect()
            messages += [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
            caught.clear()
    return messages


async def test_sessions_are_closed_at_shutdown(fake: FakeTelegram) -> None:
    api = PtbApi(TOKEN, fake.url)
    fake.files["F1"] = b"\x89PNG" + b"\x00" * 1000
    await api.send_message(USER, "một", None)
    await api.get_updates(None, 0)
    assert await api.download("F1", 10_000) == fake.files["F1"]
    requests = (api._requests, api._polling, api._downloads)
    sessions = [cast(AiohttpRequest, request)._session for request in requests]
    assert all(session is not None and not session.closed for session in sessions)
    await api.close()
    assert all(session is not None and session.closed for session in sessions)
    del sessions, requests
    assert resource_warnings(lambda: None) == []


async def test_an_unclosed_session_would_be_seen(fake: FakeTelegram) -> None:
    """The check above can fail: a request never shut down leaves a ResourceWarning."""
    held = [AiohttpRequest()]
    await held[0].post(f"{fake.url}/bot{TOKEN}/getMe", RequestData())
    warned = resource_warnings(held.clear)  # dropped, never shut down
    assert any("Unclosed client session" in text for text in warned)


async def test_a_shut_down_request_refuses_until_initialized_again(fake: FakeTelegram) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    with pytest.raises(NetworkError, match="shut down"):
        await request.post(f"{fake.url}/bot{TOKEN}/getMe", RequestData())
    await request.initialize()
    try:
        me = await request.post(f"{fake.url}/bot{TOKEN}/getMe", RequestData())
        assert isinstance(me, dict) and me["is_bot"]
    finally:
        await request.shutdown()


# -- proxies ---------------------------------------------------------------------------------


async def test_the_environment_s_proxy_is_used_read_once_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY with credentials carries the request (in absolute form, authorised), and the
    environment is read once per host, not on a worker thread for every request (aiohttp's
    ``trust_env``); NO_PROXY sends a host's requests directly."""
    seen: list[tuple[str, str | None]] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append((str(request.url), request.headers.get("Proxy-Authorization")))
        return web.json_response({"ok": True, "result": MESSAGE})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://ward%20office:s%C3%AAcret@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    lookups: list[object] = []
    real = urllib.request.getproxies

    def counted() -> dict[str, str]:
        lookups.append(None)
        return real()

    monkeypatch.setattr(urllib.request, "getproxies", counted)
    request = AiohttpRequest()
    try:
        for _ in range(3):
            await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe", RequestData())
        with pytest.raises(NetworkError):  # not through the proxy: the name does not resolve
            await request.post(f"http://direct.invalid/bot{TOKEN}/getMe", RequestData())
    finally:
        await request.shutdown()
        await runner.cleanup()
    expected = "Basic " + base64.b64encode("ward office:sêcret".encode()).decode()
    assert seen == [(f"http://api.telegram.invalid/bot{TOKEN}/getMe", expected)] * 3
    assert len(lookups) == 2  # one per host


async def test_an_https_url_s_proxy_credentials_go_with_the_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Bot API is https: the tunnel is asked for with CONNECT, which carries the
    credentials; the proxy refusing it is a network error."""
    heads: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://ward:pass@127.0.0.1:{port}")
    request = AiohttpRequest()
    try:
        with pytest.raises(NetworkError):
            await request.post(f"https://api.telegram.invalid/bot{TOKEN}/getMe", RequestData())
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()
    assert len(heads) == 1
    assert heads[0].startswith(b"CONNECT api.telegram.invalid:443 ")
    expected = "Proxy-Authorization: Basic " + base64.b64encode(b"ward:pass").decode()
    assert expected.encode() in heads[0]

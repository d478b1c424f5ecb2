"""python-telegram-bot's HTTP layer over aiohttp: a ``telegram.request.BaseRequest`` on one
``aiohttp.ClientSession``.

python-telegram-bot lets a bot replace its networking backend: ``BaseRequest`` is the
"abstract interface class that allows python-telegram-bot to make requests to the Bot API. Can
be implemented via different asyncio HTTP libraries"; a subclass implements ``initialize``,
``shutdown``, ``read_timeout`` and ``do_request``, and ``telegram.Bot`` takes one for the Bot
API's methods (``request``) and one for getUpdates (``get_updates_request``)
(https://docs.python-telegram-bot.org/en/stable/telegram.request.baserequest.html,
https://docs.python-telegram-bot.org/en/stable/telegram.bot.html). Its default, ``HTTPXRequest``
(httpx over httpcore), is what made a bare python-telegram-bot echo bot a quarter as fast as
aiogram's on aiohttp end to end (issue 21; ``bench/ptb_request.py`` measures the two).

What this keeps of ``HTTPXRequest`` (python-telegram-bot 22, ``telegram/request/
_httpxrequest.py``), so that the Bot API sees the same requests:

- the body: with files, ``multipart/form-data``: ``RequestData.json_parameters`` as fields,
  then each of ``RequestData.multipart_data``'s parts under its name with its file name and
  MIME type (file names in UTF-8, not percent-encoded but for a quote and line breaks, as httpx
  sends them). Without files, one difference: ``RequestData.parameters`` as one JSON object,
  which the Bot API takes ("application/json (except for uploading files)",
  https://core.telegram.org/bots/api#making-requests), where ``HTTPXRequest`` form-encodes
  ``json_parameters``: percent-encoding every byte of a Vietnamese text cost `cdht run` about
  5% of its rate (``bench/e2e.py``, 1,000 users, SQLite, interleaved: 801–1,043 updates/s
  form-encoded, 839–1,089 as JSON);
- the timeouts: the instance's unless a call passes its own; uploads use
  ``media_write_timeout`` in place of ``write_timeout``. aiohttp has no per-write timeout, so
  the write budget bounds the whole exchange with the others (``total``: pool + connect + write
  + read), an upload's at least its size at ``SLOWEST_UPLOAD`` bytes a second; ``sock_read``
  is the read timeout (aiohttp starts it once the body is sent), ``sock_connect`` the connect
  timeout and ``connect`` the pool's wait plus it;
- the errors: a timeout is ``telegram.error.TimedOut``, any other of aiohttp's
  ``telegram.error.NetworkError`` (the class named in the message); what the server answers,
  an HTML page included, goes back to ``BaseRequest`` as status and bytes, which makes it
  ``BadRequest``, ``Forbidden``, ``RetryAfter``, a ``NetworkError`` or "Invalid server
  response";
- proxies from the environment (``HTTPS_PROXY``, ``NO_PROXY``…) as httpx reads them: "If you
  use a different implementation of BaseRequest, you'll have to configure proxies yourself"
  (https://github.com/python-telegram-bot/python-telegram-bot/wiki/Working-Behind-a-Proxy).
  They are read once per host (``urllib.request.getproxies`` and ``proxy_bypass``, what aiohttp
  reads too) and given to each request: aiohttp's ``trust_env`` would read them, and ``.netrc``,
  on a worker thread for every request (``ClientSession._request``: ``run_in_executor`` for
  netrc, ``asyncio.to_thread(get_env_proxy_for_url)``): two thread hops a request, which cost
  `cdht run` half its rate (``bench/e2e.py``, 1,000 users, SQLite, interleaved: 435–547
  updates/s and 1.8–2.3 ms of CPU an update with them, 860–966/s and 1.0–1.1 ms without);
- certificates checked against certifi's bundle, as httpx and aiogram check them.

The session is made on first use when ``initialize`` was not called (``telegram.Bot`` only
calls it from ``Bot.initialize``, which the channel does not use), inside the running loop as
aiohttp wants; after ``shutdown`` a request is refused until ``initialize`` again.
"""

from __future__ import annotations

import base64
import io
import json
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
import certifi
from aiohttp.payload import TOO_LARGE_BYTES_BODY
from telegram._utils.defaultvalue import DefaultValue  # what HTTPXRequest tests defaults with
from telegram._utils.types import ODVInput, UploadFileDict
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["SLOWEST_UPLOAD", "AiohttpRequest"]

# An upload's write budget is at least its size at this rate (64 KiB/s, about 0.5 Mbit/s): a
# ward office's 10 MB photo on a slow line is not cut off at ``media_write_timeout``.
SLOWEST_UPLOAD = 64 * 1024

_JSON = {"Content-Type": "application/json"}
# a file name's quote and line breaks percent-encoded, as httpx (and browsers: WHATWG's
# multipart/form-data encoding) send them; aiohttp would escape the quote with a backslash
_FILENAME = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})


def _sum(*timeouts: float | None) -> float | None:
    """The timeouts added up; ``None`` (no limit) if any is."""
    total = 0.0
    for timeout in timeouts:
        if timeout is None:
            return None
        total += timeout
    return total


def _upload_size(files: UploadFileDict) -> int:
    """The files' bytes (a file handle's unknown: counted as nothing)."""
    return sum(len(content) for _, content, _ in files.values() if isinstance(content, bytes))


def _multipart(fields: dict[str, str], files: UploadFileDict) -> aiohttp.FormData:
    """The fields, then the files, as ``multipart/form-data`` (httpx's order)."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        if isinstance(content, bytes) and len(content) > TOO_LARGE_BYTES_BODY:
            # aiohttp sends a large ``bytes`` part in one write and warns that it "might lock
            # the event loop. You should probably pass an io.BytesIO object instead"
            content = io.BytesIO(content)
        form.add_field(name, content, filename=filename.translate(_FILENAME), content_type=mimetype)
    return form


def _env_proxy(scheme: str, host: str) -> tuple[str | None, dict[str, str] | None]:
    """``HTTPS_PROXY``/``HTTP_PROXY`` (either case) for the scheme, unless ``NO_PROXY`` names
    the host; credentials in the proxy's URL become its ``Proxy-Authorization`` header (HTTP
    Basic, RFC 7617: base64 of "user:password" in UTF-8; aiohttp deprecates ``BasicAuth``)."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or not host or urllib.request.proxy_bypass(host):
        return None, None
    parsed = urlsplit(proxy)
    if parsed.username is None:
        return proxy, None
    pair = f"{unquote(parsed.username)}:{unquote(parsed.password or '')}".encode()
    header = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    bare = parsed._replace(netloc=parsed.netloc.rpartition("@")[2])
    return urlunsplit(bare), header


class AiohttpRequest(BaseRequest):
    """One ``aiohttp.ClientSession`` with at most ``connection_pool_size`` connections; the
    timeouts' defaults are ``HTTPXRequest``'s."""

    __slots__ = (
        "_closed",
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 16,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies: dict[tuple[str, str], tuple[str | None, dict[str, str] | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """See ``BaseRequest.read_timeout``: the default read timeout, in seconds."""
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        return self._pool_size

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("This AiohttpRequest is shut down: initialize it again")
        if self._session is None or self._session.closed:
            context = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=context),
                headers={"User-Agent": self.USER_AGENT},
            )
        return self._session

    def _proxy(self, url: str, headers: dict[str, str] | None) -> dict[str, Any]:
        """The proxy the environment names for this URL's host, as ``request``'s arguments.
        Its credentials go with the CONNECT of an https URL (``proxy_headers``, copied: aiohttp
        adds the Host to that dict), in the request itself for http (aiohttp reads only its
        deprecated ``proxy_auth`` for that)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        found = self._proxies.get(key)
        if found is None:
            found = self._proxies[key] = _env_proxy(*key)
        proxy, credentials = found
        if proxy is None:
            return {"headers": headers}
        if credentials is None:
            return {"headers": headers, "proxy": proxy}
        if parts.scheme == "https":
            return {"headers": headers, "proxy": proxy, "proxy_headers": dict(credentials)}
        return {"headers": {**(headers or {}), **credentials}, "proxy": proxy}

    async def initialize(self) -> None:
        """See ``BaseRequest.initialize``: opens the session (again, after ``shutdown``)."""
        self._closed = False
        self._client()

    async def shutdown(self) -> None:
        """See ``BaseRequest.shutdown``: closes the session and its connections."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _timeout(
        self,
        read: ODVInput[float],
        write: ODVInput[float],
        connect: ODVInput[float],
        pool: ODVInput[float],
        upload: int | None,
    ) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts for one request; ``upload``: the files' bytes, if it sends any."""
        read_s = self._read_timeout if isinstance(read, DefaultValue) else read
        connect_s = self._connect_timeout if isinstance(connect, DefaultValue) else connect
        pool_s = self._pool_timeout if isinstance(pool, DefaultValue) else pool
        if isinstance(write, DefaultValue):
            write_s = self._write_timeout if upload is None else self._media_write_timeout
        else:
            write_s = write
        if upload is not None and write_s is not None:
            write_s = max(write_s, upload / SLOWEST_UPLOAD)
        return aiohttp.ClientTimeout(
            total=_sum(pool_s, connect_s, write_s, read_s),
            connect=_sum(pool_s, connect_s),
            sock_connect=connect_s,
            sock_read=read_s,
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See ``BaseRequest.do_request``: the status and the body, whatever the status."""
        session = self._client()
        body: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        upload: int | None = None
        if request_data is not None:
            files = request_data.multipart_data if request_data.contains_files else None
            if files:
                upload = _upload_size(files)
                body = _multipart(request_data.json_parameters, files)
            else:
                body = json.dumps(request_data.parameters).encode()
                headers = _JSON
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout, upload)
        try:
            async with session.request(
                method, url, data=body, timeout=timeout, **self._proxy(url, headers)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one
            raise TimedOut(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    @asynccontextmanager
    async def stream(
        self, url: str, *, chunk_size: int = 65536, read_timeout: float | None = None
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A GET's body as it arrives, for a caller that stops reading at a limit (the bytes a
        user sent: ``Bot.get_file`` then this, where ``File.download_*`` would read it all).
        A status other than 2xx is ``NetworkError``; timeouts and aiohttp's errors, while
        connecting or reading in the ``async with`` body, are raised as ``do_request``'s."""
        session = self._client()
        read_s = self._read_timeout if read_timeout is None else read_timeout
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_sum(self._pool_timeout, self._connect_timeout),
            sock_connect=self._connect_timeout,
            sock_read=read_s,
        )
        try:
            async with session.get(url, timeout=timeout, **self._proxy(url, None)) as response:
                if not 200 <= response.status <= 299:
                    raise NetworkError(f"HTTP {response.status} for a download")
                yield response.content.iter_chunked(chunk_size)
        except TimeoutError as exc:
            raise TimedOut(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

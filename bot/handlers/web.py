"""The one HTTP server the bot runs: webhooks of the channels, signed evidence links and the
staff's web console. Every response it sends carries the same security headers (``SECURITY``),
whatever answered: a console page, a file, a download, a webhook's reply, or aiohttp's own
404, 405 and 500."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["SECURITY", "WebServer"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# nothing from elsewhere: no script at all, styles and images from this server (the QR code of
# an invitation is a data: image); no framing; forms post here only
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp's ``on_response_prepare`` signal runs as each response is prepared, its headers
    not yet sent: those a handler returns, a raised ``HTTPException`` (the router's 404 and 405
    included), a ``FileResponse``, the 500 of an unexpected error. A middleware would see
    neither the exceptions as responses nor a response once prepared
    (https://docs.aiohttp.org/en/stable/web_advanced.html#aiohttp-web-signals). A header a
    handler set itself is kept."""
    for name, value in SECURITY.items():
        response.headers.setdefault(name, value)


class WebServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=2 * 1024 * 1024)
        self.app.on_response_prepare.append(_secure)
        self._routes = 0
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self.started = asyncio.Event()

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)
        self._routes += 1

    @property
    def needed(self) -> bool:
        return self._routes > 0

    @property
    def url(self) -> str:
        """The address this server answers on, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self, any_free_port: bool = False) -> str:
        """Take the address now, before the routes are added and the server starts, so that
        what is built meanwhile can name it (the console's ``/web`` link). With
        ``any_free_port``, a port in use is replaced by one the system picks. The socket
        listens at once: a second process binding the same port fails here, not later.
        Returns ``url``."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # what aiohttp's TCPSite does on Unix (asyncio's reuse_address default)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.port))
            except OSError:
                if not any_free_port:
                    raise
                sock.bind((self.host, 0))
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        return self.url

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site: web.BaseSite
        if self._socket is not None:
            # serving an already bound socket, aiohttp's SockSite:
            # https://docs.aiohttp.org/en/stable/web_reference.html#aiohttp.web.SockSite
            site = web.SockSite(self._runner, self._socket)
        else:
            site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.started.set()
        log.info("web: listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:  # bound but never served, or left open by the runner
            self._socket.close()
            self._socket = None

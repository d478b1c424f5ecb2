"""Zalo: long polling (one update per call) or webhook; every choice as a numbered text menu."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.engine import Engine, FileRef, Inbound, KeyedSerializer, Reply, Translate
from bot.handlers.polling import poll_until_stopped
from bot.handlers.text_menu import render_menu, split_text
from bot.handlers.web import WebServer
from bot.handlers.zalo.client import ZaloAuthError, ZaloClient
from bot.handlers.zalo.parse import CHANNEL, parse_update, unwrap
from bot.services.evidence import FetchFailed, TooLarge
from bot.services.links import LinkSigner
from bot.services.outbox import DeliveryError, OutgoingFile, Transient

__all__ = ["TEXT_LIMIT", "ZaloChannel", "split_reply"]

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 - a header name
PHOTO_URL_TYPES = ("image/jpeg", "image/png")


def split_reply(reply: Reply, translate: Translate, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends, the menu never cut."""
    whole = render_menu(reply, translate)
    if len(whole) <= limit:
        return [whole]
    menu = whole[len(reply.text) :].lstrip("\n")
    pieces = split_text(reply.text, limit)
    if menu:
        if len(pieces[-1]) + 2 + len(menu) <= limit:
            pieces[-1] = f"{pieces[-1]}\n\n{menu}"
        else:
            pieces.extend(split_text(menu, limit))
    return pieces


class ZaloChannel:
    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        translate: Translate,
        *,
        token: str,
        api_url: str,
        web_server: WebServer,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        links: LinkSigner | None = None,
        link_valid_seconds: int = 24 * 3600,
        poll_timeout: int = 30,
        max_concurrency: int = 16,
    ) -> None:
        self._engine = engine
        self._tr = translate
        self.client = ZaloClient(token, api_url, timeout=poll_timeout + 15)
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self._links = links
        self._link_valid = link_valid_seconds
        self._poll_timeout = poll_timeout
        self._serializer = KeyedSerializer(max_concurrency)
        if webhook_url:
            web_server.add("POST", urlsplit(webhook_url).path or "/", self._on_webhook)

    # -- receiving -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            if self._webhook_url:
                assert self._webhook_secret is not None
                await self.client.set_webhook(self._webhook_url, self._webhook_secret)
                log.info("zalo: webhook set")
                await stop.wait()
            else:
                await self._poll(stop)
        finally:
            await self._serializer.join()
            await self.client.close()

    async def _poll(self, stop: asyncio.Event) -> None:
        try:
            await self.client.delete_webhook()
        except DeliveryError as exc:
            log.warning("zalo: deleteWebhook failed (%s)", type(exc).__name__)

        async def fetch() -> list[dict[str, object]]:
            try:
                update = await self.client.get_updates(self._poll_timeout)
            except ZaloAuthError as exc:
                raise Transient(str(exc)) from None
            return [update] if update is not None else []

        await poll_until_stopped(CHANNEL, stop, fetch, self.feed)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_HEADER, "")
        assert self._webhook_secret is not None
        if not hmac.compare_digest(secret.encode(), self._webhook_secret.encode()):
            return web.Response(status=401)
        try:
            update = unwrap(await request.json())
        except ValueError:
            return web.Response(status=400)
        if update is not None:
            self.feed(update)
        return web.json_response({"ok": True})

    def feed(self, update: dict[str, object]) -> None:
        """Queue an update behind the same user's earlier ones; returns at once."""
        inbound = parse_update(update)
        if inbound is None:
            return
        self._serializer.submit(inbound.user_id, lambda: self._process(inbound))

    async def drain(self) -> None:
        await self._serializer.join()

    async def _process(self, inbound: Inbound) -> None:
        result = await self._engine.handle(inbound)
        for reply in result.replies:
            for piece in split_reply(reply, self._tr):
                try:
                    await self.client.send_message(inbound.user_id, piece)
                except DeliveryError as exc:
                    log.warning("zalo: reply not sent: %s", type(exc).__name__)
                    return

    # -- sending on the bot's own initiative ----------------------------------------------

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        if reply is not None:
            for piece in split_reply(reply, self._tr):
                await self.client.send_message(external_id, piece)
            return
        if file is None:
            return
        sha256 = file.path.name
        if self._links is None:
            note = self._tr(file.locale, "zalo.file.no_link", name=file.name)
            await self.client.send_message(external_id, f"{file.caption}\n{note}")
            return
        url = self._links.url(sha256, int(time.time()) + self._link_valid)
        if file.mime_type in PHOTO_URL_TYPES:
            await self.client.send_photo(external_id, url, file.caption[:1000])
        else:
            note = self._tr(file.locale, "zalo.file.link", url=url, hours=self._link_valid // 3600)
            await self.client.send_message(external_id, f"{file.caption}\n{note}")

    async def fetch_file(self, file: FileRef, max_bytes: int) -> bytes:
        """Zalo hands images over as URLs: download one, stopping past ``max_bytes``."""
        try:
            async with self.client.session.get(file.file_id) as response:
                if response.status != 200:
                    raise FetchFailed(f"HTTP {response.status}")
                if (response.content_length or 0) > max_bytes:
                    raise TooLarge(f"{response.content_length} bytes")
                data = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > max_bytes:
                        raise TooLarge(f"over {max_bytes} bytes")
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(type(exc).__name__) from None

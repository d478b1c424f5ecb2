"""Zalo: long polling (one update per call) or webhook; every choice as a numbered text menu."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.engine import Engine, FileRef, FloodGuard, Reply, Translate
from bot.engine.ports import InboxItem
from bot.handlers.downloads import download
from bot.handlers.polling import poll_until_stopped, until_done
from bot.handlers.receiving import Incoming, Receiver
from bot.handlers.text_menu import render_menu, split_text
from bot.handlers.web import WebServer
from bot.handlers.zalo.client import ZaloAuthError, ZaloClient
from bot.handlers.zalo.description import TEXT_LIMIT, ZALO
from bot.handlers.zalo.parse import CHANNEL, parse_update, unwrap
from bot.services.links import LinkSigner
from bot.services.outbox import OutgoingFile, Transient

__all__ = ["TEXT_LIMIT", "ZaloChannel", "split_reply"]

log = logging.getLogger(__name__)

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
    buttons = ZALO.buttons  # numbered menus

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
        flood: FloodGuard | None = None,
    ) -> None:
        self._engine = engine
        self._tr = translate
        self.client = ZaloClient(token, api_url, timeout=poll_timeout + 15)
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self._links = links
        self._link_valid = link_valid_seconds
        self._poll_timeout = poll_timeout
        self.receiver: Receiver[dict[str, Any]] = Receiver(
            CHANNEL, engine, self._send_reply, max_concurrency=max_concurrency, flood=flood
        )
        if webhook_url:
            web_server.add("POST", urlsplit(webhook_url).path or "/", self._on_webhook)

    # -- receiving -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await until_done(
                CHANNEL, stop, "reading the inbox", lambda: self.receiver.replay(self._rebuild)
            )
            if self._webhook_url:
                assert self._webhook_secret is not None
                await until_done(
                    CHANNEL,
                    stop,
                    "setWebhook",
                    lambda: self.client.set_webhook(
                        self._webhook_url or "", self._webhook_secret or ""
                    ),
                )
                log.info("zalo: webhook set")
                await stop.wait()
            else:
                await self._poll(stop)
        finally:
            self.receiver.stopping.set()
            await self.receiver.drain()
            await self.client.close()

    async def _poll(self, stop: asyncio.Event) -> None:
        try:
            await self.client.delete_webhook()
        except Exception as exc:
            log.warning("zalo: deleteWebhook failed (%s)", type(exc).__name__)

        async def fetch() -> list[dict[str, Any]]:
            # Zalo's getUpdates has no offset: an update it returns is acknowledged already,
            # so it is stored before the next call and kept in memory until it is
            # (webhooks, which Zalo recommends in production, are acknowledged after storing).
            try:
                update = await self.client.get_updates(self._poll_timeout)
            except ZaloAuthError as exc:
                raise Transient(str(exc)) from None
            return [update] if update is not None else []

        async def take(updates: Sequence[dict[str, Any]]) -> None:
            await self.receiver.take(self._incoming(updates))

        await poll_until_stopped(CHANNEL, stop, fetch, take)

    @staticmethod
    def _incoming(updates: Sequence[dict[str, Any]]) -> list[Incoming[dict[str, Any]]]:
        found = []
        for update in updates:
            inbound = parse_update(update)
            if inbound is not None:
                found.append(Incoming(update, inbound, update))
        return found

    @staticmethod
    def _rebuild(item: InboxItem) -> Incoming[dict[str, Any]] | None:
        inbound = parse_update(item.payload)
        return Incoming(item.payload, inbound, item.payload) if inbound is not None else None

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
            try:
                await self.receiver.take(self._incoming([update]))
            except Exception as exc:  # not stored: answer an error so that Zalo retries it
                log.warning("zalo: webhook update not stored (%s)", type(exc).__name__)
                return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True})

    async def drain(self) -> None:
        await self.receiver.drain()

    # -- sending -------------------------------------------------------------------------

    async def _send_reply(self, chat: str, reply: Reply) -> None:
        await self.deliver(chat, reply, None)

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
        return await download(self.client.session, file.file_id, max_bytes)

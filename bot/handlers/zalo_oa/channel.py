"""A ward's Zalo Official Account: events by webhook (``/zalo-oa``, signed with the app's OA
secret key), replies as consultation messages through the OA the citizen wrote to, and, for a
reminder or a broadcast to someone who has not written in 7 days, the approved template.

Every choice is a numbered text menu, as on the Zalo Bot Platform. Files go out as signed
links (the OA API's own upload is not used: a link reaches the same phones)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.engine import Engine, FileRef, FloodGuard, Reply, Translate
from bot.engine.ports import InboxItem
from bot.handlers.downloads import download
from bot.handlers.polling import until_done
from bot.handlers.receiving import Incoming, Receiver
from bot.handlers.text_menu import render_menu, split_text
from bot.handlers.web import WebServer
from bot.handlers.zalo_oa.client import OutsideWindow
from bot.handlers.zalo_oa.parse import CHANNEL, account, parse_event, split_account, valid_mac
from bot.handlers.zalo_oa.tokens import OaTokens, StateStore
from bot.services.links import LinkSigner
from bot.services.outbox import OutgoingFile, Rejected

__all__ = ["SIGNATURE_HEADER", "TEXT_LIMIT", "WINDOW", "ZaloOaChannel"]

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000  # characters of one consultation message
WINDOW = timedelta(days=7)  # consultation messages reach those who wrote this recently
SIGNATURE_HEADER = "X-ZEvent-Signature"
# what may go as a template to someone outside the window (never a reply or a notice)
TEMPLATE_KINDS = ("reminder", "broadcast")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def in_window(seen: dict[str, Any] | None, now: datetime) -> bool:
    """Whether a user whose last message is recorded as ``seen`` (None: never) may still get
    a consultation message (the Zalo platform answers −230 otherwise)."""
    return seen is not None and now - datetime.fromisoformat(seen["at"]) < WINDOW


def seen_key(oa_id: str, user_id: str) -> str:
    """A channel's state about one account is keyed ``account:<external id>``, and erased
    with the account (``storage``'s ``delete_for_citizen``)."""
    return f"account:{account(oa_id, user_id)}"


class ZaloOaChannel:
    name = CHANNEL
    buttons = False

    def __init__(
        self,
        engine: Engine,
        translate: Translate,
        *,
        tokens: OaTokens,
        store: StateStore,
        secret_key: str,
        web_server: WebServer,
        path: str,
        template_id: str | None = None,
        links: LinkSigner | None = None,
        link_valid_seconds: int = 24 * 3600,
        max_concurrency: int = 16,
        flood: FloodGuard | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._engine = engine
        self._tr = translate
        self.tokens = tokens
        self._store = store
        self._secret_key = secret_key
        self._template_id = template_id
        self._links = links
        self._link_valid = link_valid_seconds
        self._clock = clock
        self._wards: dict[str, str] = {}  # OA id -> its ward's code (connected OAs)
        # events are taken only once the inbox's backlog is queued: one arriving before would
        # be handled before the same user's older ones (Zalo sends it again after a 503)
        self._ready = False
        self.receiver: Receiver[dict[str, Any]] = Receiver(
            CHANNEL, engine, self._send_reply, max_concurrency=max_concurrency, flood=flood
        )
        web_server.add("POST", path, self._on_webhook)

    # -- receiving -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await until_done(CHANNEL, stop, "reading the OAs", self._load_wards)
            await until_done(
                CHANNEL, stop, "reading the inbox", lambda: self.receiver.replay(self._rebuild)
            )
            self._ready = True
            await stop.wait()
        finally:
            self._ready = False
            self.receiver.stopping.set()
            await self.receiver.drain()

    async def close(self) -> None:
        """Once the outbox's senders have stopped too (``serve``): the client is closed last,
        so that no delivery in flight at a clean stop fails and goes out again."""
        await self.tokens.api.close()

    async def _load_wards(self) -> int:
        self._wards.update({oa.oa_id: oa.ward_code for oa in await self.tokens.all()})
        return len(self._wards)

    async def _ward_of(self, oa_id: str) -> str | None:
        """The ward of a connected OA (read once, then kept: connecting again from another
        process is seen at its next event)."""
        if oa_id not in self._wards:
            oa = await self.tokens.get(oa_id)
            if oa is None:
                return None
            self._wards[oa_id] = oa.ward_code
        return self._wards[oa_id]

    def _incoming(self, event: dict[str, Any]) -> Incoming[dict[str, Any]] | None:
        inbound = parse_event(event)
        if inbound is None:
            return None
        oa_id = split_account(inbound.user_id)[0]
        return Incoming(event, replace(inbound, origin=self._wards.get(oa_id)), event)

    def _rebuild(self, item: InboxItem) -> Incoming[dict[str, Any]] | None:
        return self._incoming(item.payload)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Checked, stored, answered: Zalo wants an answer within 2 seconds, and the update
        is handled after (``Receiver``). A wrong or missing mac changes nothing."""
        if not self._ready:
            return web.json_response({"ok": False}, status=503)
        raw = await request.read()
        try:
            event = json.loads(raw)
        except ValueError:
            return web.Response(status=400)
        if not isinstance(event, dict):
            return web.Response(status=400)
        timestamp = str(event.get("timestamp") or "")
        header = request.headers.get(SIGNATURE_HEADER, "")
        app_id = self.tokens.api.app_id
        if str(event.get("app_id")) != app_id or not valid_mac(
            header, app_id, raw, timestamp, self._secret_key
        ):
            log.warning("zalo_oa: an event with a wrong signature was refused")
            return web.Response(status=401)
        inbound = parse_event(event)
        if inbound is None:
            return web.json_response({"ok": True})
        oa_id, user_id = split_account(inbound.user_id)
        try:
            if await self._ward_of(oa_id) is None:  # an OA of the app never connected here
                log.warning("zalo_oa: an event for an OA that is not connected was ignored")
                return web.json_response({"ok": True})
            incoming = self._incoming(event)
            assert incoming is not None
            if inbound.kind.value in ("text", "command", "file", "other"):
                await self._seen(oa_id, user_id)
            await self.receiver.take([incoming])
        except Exception as exc:  # not stored: an error makes Zalo send it again
            log.warning("zalo_oa: event not stored (%s)", type(exc).__name__)
            return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True})

    async def _seen(self, oa_id: str, user_id: str) -> None:
        """When the user last wrote to the OA (the 7-day window of consultation messages)."""
        now = self._clock()
        async with self._store.transaction() as uow:
            key, value = seen_key(oa_id, user_id), {"at": now.isoformat()}
            await uow.channel_state.put(CHANNEL, key, value, now)

    async def drain(self) -> None:
        await self.receiver.drain()

    # -- sending -------------------------------------------------------------------------

    async def _send_reply(self, chat: str, reply: Reply) -> None:
        await self.deliver(chat, reply, None)

    def _pieces(self, reply: Reply) -> list[str]:
        whole = render_menu(reply, self._tr)
        return [whole] if len(whole) <= TEXT_LIMIT else split_text(whole, TEXT_LIMIT)

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        """A consultation message through the OA the user wrote to (a reply, a notice)."""
        await self.deliver_as(external_id, reply, file, "reply")

    async def deliver_as(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None, kind: str
    ) -> str | None:
        """The same for any kind of message; a reminder or a broadcast to someone outside the
        7-day window goes as the approved template instead (``template`` is returned), or is
        refused as not in the window when none is configured."""
        oa_id, user_id = split_account(external_id)
        if reply is not None:
            texts = self._pieces(reply)
        elif file is not None:
            texts = [self._file_text(file)]
        else:
            return None
        try:
            for text in texts:
                await self._cs(oa_id, user_id, text)
        except OutsideWindow:
            if kind not in TEMPLATE_KINDS:
                raise
            if self._template_id is None:
                raise Rejected("not in window: no template configured") from None
            await self._template(oa_id, user_id)
            return "template"
        return None

    async def _cs(self, oa_id: str, user_id: str, text: str) -> None:
        api = self.tokens.api
        await self.tokens.call(oa_id, lambda token: api.send_text(token, user_id, text))

    async def _template(self, oa_id: str, user_id: str) -> None:
        api, template_id = self.tokens.api, self._template_id
        assert template_id is not None
        oa = await self.tokens.get(oa_id)
        data = {"ward": oa.name if oa is not None else ""}
        tracking = f"cdht-{oa_id}-{user_id}-{int(time.time())}"[:48]
        await self.tokens.call(
            oa_id,
            lambda token: api.send_template(token, template_id, data, tracking, user_id=user_id),
        )

    def _file_text(self, file: OutgoingFile) -> str:
        if self._links is None:
            note = self._tr(file.locale, "zalo_oa.file.no_link", name=file.name)
            return f"{file.caption}\n{note}"
        url = self._links.url(file.path.name, int(time.time()) + self._link_valid)
        note = self._tr(file.locale, "zalo_oa.file.link", url=url, hours=self._link_valid // 3600)
        return f"{file.caption}\n{note}"

    async def fetch_file(self, file: FileRef, max_bytes: int) -> bytes:
        """An attachment's bytes from its URL, stopping past ``max_bytes``."""
        return await download(self.tokens.api.session, file.file_id, max_bytes)

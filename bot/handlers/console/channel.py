"""A chat in the terminal through the same engine and database; choices as numbered menus."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TextIO

from bot.engine import Engine, FileRef, Inbound, InboundKind, Reply, Translate, t
from bot.handlers.console.description import CONSOLE
from bot.handlers.mailbox import Mailbox
from bot.handlers.text_menu import render_menu
from bot.services.evidence import FetchFailed, NotFound, TooLarge
from bot.services.outbox import OutgoingFile

__all__ = ["CHANNEL", "ConsoleChannel", "parse_line"]

CHANNEL = CONSOLE.name

log = logging.getLogger(__name__)


def parse_line(line: str, user_id: str) -> Inbound:
    """``/file PATH`` sends a local file as evidence; other ``/words`` are commands."""
    text = line.strip()
    if text.startswith("/file ") and text[6:].strip():
        path = Path(text[6:].strip()).expanduser()
        kind = (
            "photo"
            if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".heic")
            else "document"
        )
        ref = FileRef(str(path), kind, None, None, path.name)
        return Inbound(CHANNEL, user_id, InboundKind.FILE, file=ref, buttons=CONSOLE.buttons)
    if text.startswith("/") and len(text) > 1:
        command, _, args = text[1:].partition(" ")
        return Inbound(
            CHANNEL,
            user_id,
            InboundKind.COMMAND,
            command=command.lower(),
            args=args,
            buttons=CONSOLE.buttons,
        )
    text = line.rstrip("\r\n")
    return Inbound(CHANNEL, user_id, InboundKind.TEXT, text=text, buttons=CONSOLE.buttons)


class ConsoleChannel:
    """One user's chat in this terminal. Messages the bot sends on its own (a coordinator's
    notification, a decision, a broadcast) reach the console of the user they are for: each
    user runs their own (``cdht console --user NAME``); others' wait for theirs."""

    name = CHANNEL
    buttons = CONSOLE.buttons  # numbered menus

    def __init__(
        self,
        engine: Engine,
        translate: Translate,
        default_locale: str,
        user_id: str = "local",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self._engine = engine
        self._mailbox = Mailbox(engine.store)  # the replies shown, acknowledged
        self._tr = translate
        self._locale = default_locale
        self._user_id = user_id
        self.recipient = user_id  # the outbox sender delivers this user's messages only
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        """Messages the bot sends this user on its own initiative, shown in this terminal."""
        if file is not None:
            self._print(f"\n📎 {file.caption} ({file.path})")
        elif reply is not None:
            self._print("\n📨\n" + render_menu(reply, self._tr))

    async def fetch_file(self, file: FileRef, max_bytes: int) -> bytes:
        """Evidence "sent" from the console is a local file."""

        def read() -> bytes:
            path = Path(file.file_id)
            if path.stat().st_size > max_bytes:
                raise TooLarge(path.name)
            return path.read_bytes()

        try:
            return await asyncio.to_thread(read)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(Path(file.file_id).name) from None  # a path mistyped: no fault
        except OSError as exc:
            raise FetchFailed(type(exc).__name__) from None

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def _send(self, inbound: Inbound) -> None:
        result = await self._engine.handle(inbound)
        if result.retry:
            self._print(self._engine.notice(self._locale, t("engine.busy")).text)
            return
        for reply in result.replies:
            self._locale = reply.locale
            self._print("\n" + render_menu(reply, self._tr))
        try:
            await self._mailbox.delivered(result.reply_ids, result.after_delivery)
        except Exception:  # shown already; at worst the sender shows them once more
            self._print("")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        self._print(self._tr(self._locale, "console.banner", user=self._user_id))
        # nothing is sent on the user's behalf: a conversation in progress is shown as it stands
        waiting = await self._engine.waiting(CHANNEL, self._user_id, buttons=CONSOLE.buttons)
        if waiting is not None:
            self._locale = waiting.locale
            self._print("\n" + render_menu(waiting, self._tr))
        try:
            while stop is None or not stop.is_set():
                self._out.write("> ")
                self._out.flush()
                line = await asyncio.to_thread(self._in.readline)
                if not line:
                    self._print("")
                    break
                if line.strip().lower() in ("/quit", "/exit"):
                    break
                if line.strip():
                    await self._send(parse_line(line, self._user_id))
        finally:
            try:
                await self._mailbox.flush()
            except Exception as exc:  # replies shown but not deleted are shown once more
                log.warning("acknowledging replies at the end: %s", type(exc).__name__)

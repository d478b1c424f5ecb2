"""Conversation driver for engine tests: send, expect a reply, press, expect."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.engine import Engine, FileRef, Inbound, InboundKind, Reply, Result
from bot.handlers.mailbox import Mailbox

_update_ids = itertools.count(1)


class Chat:
    def __init__(
        self, engine: Engine, user: str = "1001", channel: str = "test", language: str = "vi"
    ) -> None:
        self.engine = engine
        self.mailbox = Mailbox(engine.store)
        self.user = user
        self.channel = channel
        self.language = language
        self.result = Result()
        self.prompt: Reply | None = None  # the last reply that asked something

    async def deliver(self, inbound: Inbound) -> Result:
        self.result = await self.engine.handle(inbound)
        for reply in self.result.replies:
            if reply.token is not None:
                self.prompt = reply
        # as a channel does once it sent them (and deleted at once, not ACK_DELAY later, so that
        # tests read the outbox without the replies)
        await self.mailbox.delivered(self.result.reply_ids, self.result.after_delivery)
        await self.mailbox.flush()
        return self.result

    def _inbound(self, kind: InboundKind, **fields: object) -> Inbound:
        fields.setdefault("update_id", str(next(_update_ids)))
        return Inbound(
            self.channel,
            self.user,
            kind,
            language_hint=self.language,
            **fields,  # type: ignore[arg-type]
        )

    async def send(self, text: str, **fields: object) -> Result:
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return await self.deliver(
                self._inbound(InboundKind.COMMAND, command=command, args=args, **fields)
            )
        return await self.deliver(self._inbound(InboundKind.TEXT, text=text, **fields))

    async def press(self, choice: str, *, token: str | None = None) -> Result:
        """Press a button of the last prompt, by its id or its label."""
        assert self.prompt is not None, "nothing was asked yet"
        matches = [c for c in self.prompt.choices if choice in (c.id, c.label)]
        assert matches, f"no choice {choice!r} in {self.choice_labels}"
        return await self.deliver(
            self._inbound(
                InboundKind.CHOICE,
                choice_id=matches[0].id,
                token=token if token is not None else self.prompt.token,
            )
        )

    async def press_raw(self, choice_id: str, token: str | None) -> Result:
        return await self.deliver(
            self._inbound(InboundKind.CHOICE, choice_id=choice_id, token=token)
        )

    async def share_contact(self, phone: str, own: bool = True) -> Result:
        return await self.deliver(self._inbound(InboundKind.CONTACT, phone=phone, phone_is_own=own))

    async def send_file(self, file: FileRef) -> Result:
        return await self.deliver(self._inbound(InboundKind.FILE, file=file))

    # -- reading -------------------------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        return [reply.text for reply in self.result.replies]

    @property
    def text(self) -> str:
        return "\n---\n".join(self.texts)

    @property
    def choice_labels(self) -> list[str]:
        return [c.label for c in self.prompt.choices] if self.prompt else []

    @property
    def choice_ids(self) -> list[str]:
        return [c.id for c in self.prompt.choices] if self.prompt else []

    def expect(self, *fragments: str, choices: Sequence[str] | None = None) -> None:
        """Every fragment appears in this turn's replies; ``choices`` are the prompt's ids."""
        for fragment in fragments:
            assert fragment in self.text, f"{fragment!r} not in reply:\n{self.text}"
        if choices is not None:
            assert self.result.replies, "no reply"
            assert list(choices) == self.choice_ids, f"{self.choice_ids} != {list(choices)}"


# The quickest answer to each registration step: (press a button?, the answer).
DEFAULT_ANSWERS: dict[str, tuple[bool, str]] = {
    "age": (True, "adult"),
    "consent": (True, "agree"),
    "consent_share": (True, "agree"),
    "consent_stats": (True, "agree"),
    "group": (True, "g1"),
    "full_name": (False, "Nguyễn Thị Hồng Nhung"),
    "birth_year": (False, "1990"),
    "gender": (True, "female"),
    "phone": (False, "0912 345 678"),
    "ward": (False, "le chan"),
    "ward_pick": (True, "Phường Lê Chân"),
    "residential_group": (False, "Tổ dân phố số 5"),
    "workplace": (True, "skip"),
    "summary": (True, "confirm"),
}


async def answer_until(chat: Chat, step: str | None, **answers: str) -> None:
    """Start a registration and answer every step before ``step`` (None: confirm it all).
    ``answers`` replace the defaults, e.g. ``group="g4", full_name="Phạm Minh Khôi"``."""
    await chat.send("/start")
    for name, (press, default) in DEFAULT_ANSWERS.items():
        if name == step:
            return
        if name == "workplace" and answers.get("group", "g1") == "g1":
            continue
        answer = answers.get(name, default)
        await (chat.press(answer) if press else chat.send(answer))


async def register(chat: Chat, *, name: str = "Nguyễn Thị Hồng Nhung", group: str = "g1") -> None:
    """A complete registration by the quickest path, for tests that need a citizen."""
    await answer_until(chat, None, full_name=name, group=group)
    chat.expect("đăng ký thành công")


async def agree(chat: Chat) -> None:
    """Say 16 or over, then agree to the three purposes one after the other (registration,
    sharing, statistics)."""
    await chat.press("adult")
    for _ in range(3):
        await chat.press("agree")

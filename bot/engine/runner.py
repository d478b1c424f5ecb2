"""The flow runner: one inbound update in, localized replies out, in one transaction."""

from __future__ import annotations

import logging
import re
import traceback
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.engine.flow import (
    Abort,
    Accept,
    Answer,
    ChoiceSpec,
    Finish,
    Flow,
    FlowContext,
    Prompt,
    Retry,
    Step,
)
from bot.engine.matching import fold, match_choice
from bot.engine.phrases import phrases
from bot.engine.ports import (
    Conversation,
    Identity,
    OutboxMessage,
    StorageUnavailable,
    Store,
    Subject,
    UnitOfWork,
)
from bot.engine.types import (
    Choice,
    Expect,
    FileRef,
    Inbound,
    InboundKind,
    Joined,
    Reply,
    Result,
    Text,
    reply_to_json,
    t,
)

__all__ = [
    "GLOBAL_TOKEN",
    "MAX_TEXT_LENGTH",
    "REPLY_LEASE",
    "Answered",
    "Engine",
    "FileIntake",
    "FlowCommand",
    "ReplyCommand",
    "TextCommand",
    "Translate",
]

log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 1000
# A reply is stored in the outbox with the update that caused it, and sent at once by the
# channel; the outbox's sender takes it over only if it is not acknowledged within this time
# (the process died, or the send failed).
REPLY_LEASE = timedelta(seconds=30)
REPLY_PRIORITY = -1  # before anyone's notifications
# Buttons that work in every state (the language choice) carry this token.
GLOBAL_TOKEN = "g"  # noqa: S105 - not a secret
# Commands that work in every state, with their descriptions for a channel's command menu.
COMMANDS = {
    "start": t("command.start"),
    "help": t("command.help"),
    "cancel": t("command.cancel"),
    "back": t("command.back"),
    "language": t("command.language"),
}


class Translate(Protocol):
    def __call__(self, locale: str, key: str, /, **params: object) -> str: ...

    def resolve(self, locale: str | None) -> str: ...

    def has(self, locale: str, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class FlowCommand:
    """A command that opens a flow, e.g. ``/profile``; its arguments reach the flow as
    ``values["args"]`` (``/review 12``)."""

    flow: str
    description: Text
    enrolled_only: bool = True  # only for an account enrolled as someone (a citizen)
    listed: bool = True  # shown in a channel's command menu (staff commands are not)
    values: Mapping[str, Any] = field(default_factory=dict)  # given to the flow with the args


@dataclass(frozen=True, slots=True)
class TextCommand:
    """A typed message of one exact shape that is a command for some accounts only: "DUYET 12"
    from a coordinator is ``/duyet 12``; from anyone else, or in another shape ("Trả 2 cuốn
    sách cho thư viện"), it is just text. ``pattern`` is matched against the folded message;
    its ``keyword`` group says how many words the command name takes."""

    pattern: re.Pattern[str]
    command: str
    allowed: Callable[[FlowContext[Any, Any]], Awaitable[bool]]


# What a reply command answers: a text, or a text with buttons (each a command to press).
Answered = Text | tuple[Text, tuple[ChoiceSpec, ...]]


@dataclass(frozen=True, slots=True)
class ReplyCommand:
    """A command answered with a text, e.g. ``/status``; ``values["args"]`` holds its
    arguments. Its buttons carry commands ("/review 12") and work in any state."""

    answer: Callable[[FlowContext[Any, Any]], Awaitable[Answered]]
    description: Text
    listed: bool = True


class FileIntake(Protocol):
    """Receives a file before its update's transaction (downloads must not hold it open)."""

    async def receive(self, channel: str, file: FileRef) -> FileRef: ...

    async def settle(self, file: FileRef, store: Any) -> None:
        """After the transaction: remove a stored copy that no record came to use (``store``:
        the engine's, which the domain's records are read from too)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


MERGE_LIMIT = 3500  # below Telegram's 4096; Zalo splits longer texts itself


_ALLOWED_CONTROLS = frozenset("\n\r\t")


def match_intent(text: str, choices: tuple[Choice, ...]) -> Choice | None:
    """The one choice that means what a typed yes, no or "done" means ("rồi" is a yes, and
    also "done" where no choice means yes)."""
    intent = phrases().intent(text)
    meanings = {
        "yes": ("yes", "done"),
        "no": ("no",),
        "done": ("done",),
        "approve": ("approve", "yes"),
    }
    for means in meanings.get(intent or "", ()):
        meant = [choice for choice in choices if choice.means == means]
        if meant:
            return meant[0] if len(meant) == 1 else None
    return None


def match_typed(text: str, choices: tuple[Choice, ...], *, by_index: bool = True) -> Choice | None:
    """A typed answer to a menu: its number ("2", "số 2"), its label, or a yes or no in words."""
    number = phrases().menu_number(text)
    return match_choice(number or text, choices, by_index=by_index) or match_intent(text, choices)


def _unstorable(text: str) -> bool:
    """Control characters (NUL among them) and lone surrogates: no field may hold them, and
    PostgreSQL refuses NUL in text outright."""
    return any(
        unicodedata.category(ch) in ("Cc", "Cs") and ch not in _ALLOWED_CONTROLS for ch in text
    )


def _merge(replies: list[Reply]) -> tuple[Reply, ...]:
    """Fold plain notices ("that button is old", "saved") into the prompt that follows them:
    one message instead of several, on slow phones and against the channels' rate limits."""
    merged: list[Reply] = []
    notices: list[Reply] = []
    for reply in replies:
        if reply.token is None and not reply.choices:
            notices.append(reply)
            continue
        if notices and sum(len(n.text) + 2 for n in notices) + len(reply.text) <= MERGE_LIMIT:
            reply = replace(reply, text="\n\n".join([*(n.text for n in notices), reply.text]))
            notices = []
        merged.extend(notices)
        notices = []
        merged.append(reply)
    merged.extend(notices)
    return tuple(merged)


@dataclass(slots=True)
class _Turn:
    """The state of one update being handled."""

    uow: UnitOfWork
    inbound: Inbound
    locale: str
    identity: Identity | None
    subject: Subject | None  # who the account is enrolled as (the domain's: a citizen)
    conversation: Conversation | None
    now: datetime
    replies: list[Reply] = field(default_factory=list)
    pressed_label: str | None = None
    stale: bool = False
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    after_delivery: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class Engine:
    """Runs declarative flows for any channel.

    ``entry_flow`` starts for someone not yet registered; ``flow_commands`` maps a command such as
    ``profile`` to the flow it opens for an enrolled account (the domain's subject: a citizen).
    ``greet`` answers an enrolled account that has no conversation; ``home`` one that is not
    enrolled, when it has something to say (staff are not
    asked to register); ``text_commands`` are typed shapes that are commands for some accounts.
    """

    def __init__(
        self,
        store: Store,
        translate: Translate,
        flows: Mapping[str, Flow],
        *,
        services: Any,
        entry_flow: str,
        flow_commands: Mapping[str, FlowCommand],
        reply_commands: Mapping[str, ReplyCommand] | None = None,
        text_commands: Sequence[TextCommand] = (),
        button_commands: Sequence[tuple[str, Text]] = (),
        greet: Callable[[FlowContext[Any, Any]], Awaitable[Text]] | None = None,
        home: Callable[[FlowContext[Any, Any]], Awaitable[Text | None]] | None = None,
        forget: Callable[[FlowContext[Any, Any]], Awaitable[None]] | None = None,
        files: FileIntake | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._tr = translate
        self._flows = dict(flows)
        self._services = services
        self._entry_flow = entry_flow
        self._flow_commands = dict(flow_commands)
        self._reply_commands = dict(reply_commands or {})
        self._text_commands = tuple(text_commands)
        self._button_commands = tuple(button_commands)
        self._button_labels: dict[str, tuple[Choice, ...]] = {}  # locale: the labels
        self._home = home
        self._greet = greet
        self._forget = forget
        self._files = files
        self._clock = clock
        self.commands: dict[str, Text] = {
            **COMMANDS,
            **{name: c.description for name, c in flow_commands.items() if c.listed},
            **{name: c.description for name, c in self._reply_commands.items() if c.listed},
        }

    # -- public ---------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> Result:
        """Handle one update in one transaction. Never raises: a failure rolls the update back
        and answers in plain language; an unavailable database answers ``retry``."""
        try:
            received = await self._receive_file(inbound)
        except StorageUnavailable:
            return Result(retry=True)
        except Exception as exc:
            self._log_failure(inbound, exc, "file intake")
            return await self._failed(inbound)
        if received is None:
            return await self._handle(inbound)
        try:
            return await self._handle(replace(inbound, file=received))
        finally:
            assert self._files is not None
            try:
                await self._files.settle(received, self._store)
            except Exception as exc:  # a file left behind is collected later
                log.warning("file settle failed: %s", type(exc).__name__)

    async def waiting(self, channel: str, user_id: str, *, buttons: bool = True) -> Reply | None:
        """The question a user's conversation waits on, prefixed "continue where you left off",
        or None. Read-only: nothing is recorded as the user's message (a console reopened
        after a restart shows it instead of sending /start on the user's behalf)."""
        inbound = Inbound(channel, user_id, InboundKind.TEXT, text="", buttons=buttons)
        try:
            async with self._store.transaction() as uow:
                turn = await self._begin(uow, inbound)
                conversation = turn.conversation
                if conversation is None:
                    return None
                prompt = (
                    self._flows[conversation.flow]
                    .step(conversation.step)
                    .prompt(self._context(turn, dict(conversation.values)))
                )
                text = self._text(turn, Joined((t("engine.resume"), prompt.text), "\n\n"))
                choices = self._choices(turn.locale, prompt)
        except Exception as exc:  # the user can still type /start
            log.warning("no waiting question: %s", type(exc).__name__)
            return None
        return Reply(text, turn.locale, choices, prompt.expect, str(conversation.seq))

    async def _receive_file(self, inbound: Inbound) -> FileRef | None:
        """Download a file the current step is waiting for, before the update's transaction."""
        if self._files is None or inbound.kind is not InboundKind.FILE or inbound.file is None:
            return None
        async with self._store.transaction() as uow:
            if inbound.update_id is not None and await uow.updates.handled(
                inbound.channel, inbound.update_id
            ):
                return None  # delivered again after a restart: no second download
            turn = await self._begin(uow, inbound)
            conversation = turn.conversation
            if conversation is None:
                return None
            flow = self._flows[conversation.flow]
            ctx = self._context(turn, dict(conversation.values))
            if flow.step(conversation.step).prompt(ctx).expect is not Expect.FILE:
                return None
        return await self._files.receive(inbound.channel, inbound.file)

    async def _handle(self, inbound: Inbound) -> Result:
        try:
            async with self._store.transaction() as uow:
                if inbound.update_id is not None:
                    # one process at a time per user (several processes on PostgreSQL)
                    claimed = await uow.updates.claim(
                        inbound.channel, inbound.user_id, inbound.update_id, inboxed=inbound.inboxed
                    )
                    if not claimed:
                        return Result(duplicate=True)
                turn = await self._begin(uow, inbound)
                await self._dispatch(turn)
                replies = _merge(turn.replies)
                await self._remember_menu(turn, replies)
                ids = await self._store_replies(uow, inbound, replies, turn.now)
        except StorageUnavailable:
            return Result(retry=True)
        except Exception as exc:
            # Rolled back: nothing of this update was stored. Log no message text (personal data).
            self._log_failure(inbound, exc, "update")
            return await self._failed(inbound)
        for hook in turn.after_commit:
            try:
                await hook()
            except Exception as exc:
                log.warning("after-commit step failed: %s", type(exc).__name__)
        return Result(
            replies,
            turn.pressed_label,
            turn.stale,
            reply_ids=ids,
            after_delivery=tuple(turn.after_delivery),
        )

    @staticmethod
    async def _remember_menu(turn: _Turn, replies: Sequence[Reply]) -> None:
        """A menu shown outside any step (a language choice, a confirmation) is what a number
        typed next answers; a step's question shown after it takes that over."""
        identity = turn.identity
        if identity is None:
            return
        asking = [reply for reply in replies if reply.choices]
        menu = None
        if asking and asking[-1].token == GLOBAL_TOKEN:
            menu = tuple((c.id, c.label, c.means or "") for c in asking[-1].choices)
        if menu != identity.menu:
            await turn.uow.identities.set_menu(identity.id, menu)

    @staticmethod
    def _log_failure(inbound: Inbound, exc: BaseException, what: str) -> None:
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("%s failed on %s: %s\n%s", what, inbound.channel, type(exc).__name__, frames)

    async def _failed(self, inbound: Inbound) -> Result:
        """The update is consumed with an apology, so that it is not tried again for ever."""
        locale = await self.locale_for(inbound)
        reply = Reply(self._tr(locale, "engine.error"), locale)
        try:
            async with self._store.transaction() as uow:
                if inbound.update_id is not None:
                    await uow.updates.claim(
                        inbound.channel, inbound.user_id, inbound.update_id, inboxed=inbound.inboxed
                    )
                ids = await self._store_replies(uow, inbound, (reply,), self._clock())
        except StorageUnavailable:
            return Result(retry=True)
        except Exception as exc:
            log.error("recording a failed update failed too: %s", type(exc).__name__)
            ids = ()
        return Result((reply,), reply_ids=ids)

    @staticmethod
    async def _store_replies(
        uow: UnitOfWork, inbound: Inbound, replies: Sequence[Reply], now: datetime
    ) -> tuple[int, ...]:
        """The replies go into the outbox with the update itself: if the process dies before
        they are delivered, the sender delivers them after the restart."""
        ids = []
        for reply in replies:
            message = OutboxMessage(
                inbound.channel,
                inbound.reply_to,
                {"reply": reply_to_json(reply)},
                kind="reply",
                priority=REPLY_PRIORITY,
                not_before=now + REPLY_LEASE,
            )
            ids.append(await uow.outbox.add(message, now))
        return tuple(ids)

    @property
    def store(self) -> Store:
        """The store updates are handled in (a channel's mailbox works in it too)."""
        return self._store

    def notice(self, locale: str, text: Text) -> Reply:
        """A plain message outside any update's transaction (the database may be down)."""
        return Reply(self.text(locale, text), locale)

    def text(self, locale: str, text: Text | Joined | str, *, typed: bool = False) -> str:
        """A text in a locale. ``typed``: for a channel without buttons, where a message id has
        a ``.typed`` variant ("gõ số" rather than "bấm nút"), that variant is used."""
        if isinstance(text, str):
            return text
        if isinstance(text, Joined):
            return text.separator.join(self.text(locale, p, typed=typed) for p in text.parts)
        params = {
            key: self.text(locale, value, typed=typed)
            if isinstance(value, Text | Joined)
            else value
            for key, value in text.params.items()
        }
        key = text.key
        if typed and self._tr.has(locale, f"{key}.typed"):
            key = f"{key}.typed"
        return self._tr(locale, key, **params)

    # -- turn ----------------------------------------------------------------------------

    async def _begin(self, uow: UnitOfWork, inbound: Inbound) -> _Turn:
        identity, subject, conversation = await uow.identities.load(
            inbound.channel, inbound.user_id
        )
        if identity is not None and conversation is not None and not self._knows(conversation):
            # saved by an older release whose flow or step no longer exists: start afresh
            log.warning("dropping a conversation at unknown step %s", conversation.step)
            await uow.conversations.delete(identity.id)
            conversation = None
        if identity is not None and identity.locale:
            locale = identity.locale
        elif subject is not None:
            locale = subject.locale
        else:
            locale = self._tr.resolve(inbound.language_hint)
        return _Turn(uow, inbound, locale, identity, subject, conversation, self._clock())

    def _knows(self, conversation: Conversation) -> bool:
        flow = self._flows.get(conversation.flow)
        return flow is not None and any(step.name == conversation.step for step in flow.steps)

    async def _dispatch(self, turn: _Turn) -> None:
        inbound = turn.inbound
        if inbound.kind is InboundKind.FORGET:  # never typed: only a platform's own event
            if turn.identity is not None and self._forget is not None:
                await self._forget(self._context(turn, {}))
            return
        if inbound.kind is InboundKind.MEMBER:  # blocked or unblocked: no reply to give
            if turn.identity is not None:
                blocked = None if inbound.reachable else turn.now
                await turn.uow.identities.set_unreachable(turn.identity.id, blocked)
            return
        if turn.identity is not None and turn.identity.unreachable:
            # whoever writes to the bot can be written to again (they unblocked it)
            await turn.uow.identities.set_unreachable(turn.identity.id, None)
        if _unstorable(inbound.text) or _unstorable(inbound.args):
            self._say(turn, t("engine.bad_characters"))
            await self._reprompt_or_home(turn)
            return
        if inbound.kind is InboundKind.TEXT:
            await self._interpret(turn)
            inbound = turn.inbound
        if inbound.kind is InboundKind.UNREADABLE:
            self._say(turn, t("engine.unreadable"))
        elif inbound.kind is InboundKind.COMMAND:
            await self._command(turn, (inbound.command or "").lower())
        elif inbound.kind is InboundKind.CHOICE and inbound.token == GLOBAL_TOKEN:
            await self._global_choice(turn)
        elif inbound.kind is InboundKind.TEXT and len(inbound.text) > MAX_TEXT_LENGTH:
            self._say(turn, t("engine.too_long", limit=MAX_TEXT_LENGTH))
            await self._reprompt_or_home(turn)
        elif inbound.kind is InboundKind.OTHER and turn.conversation is None:
            self._say(turn, t("engine.unsupported_idle"))
        elif turn.conversation is None:
            if turn.subject is not None:
                await self._greet_enrolled(turn)
            elif not await self._say_home(turn):
                await self._start_flow(turn, self._entry_flow)
        else:
            await self._answer(turn, turn.conversation)

    async def _interpret(self, turn: _Turn) -> None:
        """What a typed message is, before it is an answer to the current step: a number or a
        label of the menu just shown outside any step, a staff member's typed decision, or a
        command word typed as the whole message (unless it answers the current question)."""
        inbound = turn.inbound
        identity = turn.identity
        if identity is not None and identity.menu:
            menu = tuple(Choice(i, label, means or None) for i, label, means in identity.menu)
            chosen = match_typed(inbound.text, menu)
            if chosen is not None:
                turn.inbound = replace(
                    inbound, kind=InboundKind.CHOICE, choice_id=chosen.id, token=GLOBAL_TOKEN
                )
                return
        folded = fold(inbound.text)
        for typed in self._text_commands:
            match = typed.pattern.fullmatch(folded)
            if match is None:
                continue
            if await typed.allowed(self._context(turn, {}, await self._ensure_identity(turn))):
                words = len(match.group("keyword").split())
                args = " ".join(inbound.text.split()[words:])
                turn.inbound = replace(
                    inbound, kind=InboundKind.COMMAND, command=typed.command, args=args
                )
                return
        button = self._typed_button(turn.locale, inbound.text)
        if button is not None and not self._answers_prompt(turn, inbound.text):
            name, _, args = button.removeprefix("/").partition(" ")
            turn.inbound = replace(inbound, kind=InboundKind.COMMAND, command=name, args=args)
            return
        word = phrases().command(inbound.text)
        if word is not None and not self._answers_prompt(turn, inbound.text):
            turn.inbound = replace(inbound, kind=InboundKind.COMMAND, command=word, args="")

    def _typed_button(self, locale: str, typed: str) -> str | None:
        """The command of a button that messages sent outside any step carry («Bổ sung»,
        «Nhận giấy xác nhận»), typed as its label on a channel without buttons: the whole
        label, or a beginning only one label has («Làm tiếp» for «Làm tiếp bản tự đánh giá»)."""
        if not typed or not self._button_commands:
            return None
        for language in dict.fromkeys((locale, self._tr.resolve(None))):
            labels = self._button_labels.get(language)
            if labels is None:
                labels = tuple(
                    Choice(command, self.text(language, label))
                    for command, label in self._button_commands
                )
                self._button_labels[language] = labels
            found = match_choice(typed, labels, by_index=False)
            if found is not None:
                return found.id
        return None

    def _answers_prompt(self, turn: _Turn, text: str) -> bool:
        """Whether a typed text picks a choice of the current step ("Bắt đầu", "Quay lại")."""
        conversation = turn.conversation
        if conversation is None:
            return False
        flow = self._flows[conversation.flow]
        prompt = flow.step(conversation.step).prompt(self._context(turn, dict(conversation.values)))
        return match_choice(text, self._choices(turn.locale, prompt), by_index=False) is not None

    async def _greet_enrolled(self, turn: _Turn) -> None:
        """What an enrolled account with no conversation is told (the domain's greeting)."""
        if self._greet is not None:
            self._say(
                turn, await self._greet(self._context(turn, {}, await self._ensure_identity(turn)))
            )

    async def _say_home(self, turn: _Turn) -> bool:
        """Accounts enrolled as no one with something to say instead of the entry flow (staff)."""
        if self._home is None:
            return False
        text = await self._home(self._context(turn, {}, await self._ensure_identity(turn)))
        if text is None:
            return False
        self._say(turn, text)
        return True

    async def _command(self, turn: _Turn, command: str) -> None:
        conversation = turn.conversation
        if command == "start":  # (it does not undo a /stop: /subscribe does, when asked for)
            if conversation is not None:
                self._say(turn, t("engine.resume"))
                await self._reprompt(turn, conversation)
            elif turn.subject is not None:
                await self._greet_enrolled(turn)
            elif not await self._say_home(turn):
                await self._start_flow(turn, self._entry_flow)
        elif command == "help":
            self._say(turn, t("engine.help"))
            await self._reprompt_or_home(turn, home=False)
        elif command == "cancel":
            await self._cancel(turn)
        elif command == "back":
            await self._back(turn)
        elif command == "language":
            await self._language(turn, turn.inbound.args.strip().lower())
        elif command in self._flow_commands:
            await self._flow_command(turn, self._flow_commands[command], turn.inbound.args)
        elif command in self._reply_commands:
            await self._ensure_identity(turn)  # staff commands work for unregistered accounts
            answer = self._reply_commands[command].answer
            answered = await answer(self._context(turn, {"args": turn.inbound.args.strip()}))
            if isinstance(answered, tuple):
                self._offer(turn, *answered)
            else:
                self._say(turn, answered)
            await self._reprompt_or_home(turn, home=False)
        else:
            self._say(turn, t("engine.unknown_command", command="/" + command))
            await self._reprompt_or_home(turn, home=False)

    async def _cancel(self, turn: _Turn) -> None:
        conversation = turn.conversation
        if conversation is None:
            self._say(turn, t("engine.nothing_to_cancel"))
            return
        flow = self._flows[conversation.flow]
        if flow.on_leave is not None:
            await flow.on_leave(self._context(turn, dict(conversation.values)))
        await self._leave(turn, forget=turn.subject is None and flow.name == self._entry_flow)
        self._say(turn, flow.cancel_text or t("engine.cancelled"))

    async def _back(self, turn: _Turn) -> None:
        conversation = turn.conversation
        if conversation is None:
            self._say(turn, t("engine.nothing_to_go_back"))
            return
        if not conversation.history:
            self._say(turn, t("engine.nothing_to_go_back"))
            await self._reprompt(turn, conversation)
            return
        previous = conversation.history[-1]
        values = {k: v for k, v in conversation.values.items() if k != "_edit"}
        moved = replace(
            conversation, step=previous, history=conversation.history[:-1], values=values
        )
        await self._reprompt(turn, moved)

    async def _language(self, turn: _Turn, wanted: str) -> None:
        if wanted in ("vi", "en"):
            await self._set_locale(turn, wanted)
            return
        choices = (Choice("lang:vi", "Tiếng Việt"), Choice("lang:en", "English"))
        text = self._tr(turn.locale, "engine.language.choose")
        turn.replies.append(Reply(text, turn.locale, choices, Expect.CHOICE, GLOBAL_TOKEN))

    async def _global_choice(self, turn: _Turn) -> None:
        choice = turn.inbound.choice_id or ""
        if choice.startswith("/") and len(choice) > 1:  # a button that is a command
            command, _, args = choice[1:].partition(" ")
            if command in self._flow_commands or command in self._reply_commands:
                turn.pressed_label = "/" + command
                turn.inbound = replace(turn.inbound, command=command, args=args)
                await self._command(turn, command)
                return
        if choice in ("lang:vi", "lang:en"):
            turn.pressed_label = "Tiếng Việt" if choice == "lang:vi" else "English"
            await self._set_locale(turn, choice.removeprefix("lang:"))
        else:
            turn.stale = True
            self._say(turn, t("engine.stale"))
            await self._reprompt_or_home(turn)

    async def _set_locale(self, turn: _Turn, locale: str) -> None:
        identity = await self._ensure_identity(turn)
        await turn.uow.identities.set_locale(identity.id, locale)
        turn.locale = locale
        self._say(turn, t("engine.language.set"))
        await self._reprompt_or_home(turn)

    async def _flow_command(self, turn: _Turn, command: FlowCommand, args: str) -> None:
        conversation = turn.conversation
        if command.enrolled_only and turn.subject is None:
            self._say(turn, t("engine.not_registered"))
            await self._reprompt_or_home(turn)
        elif (
            command.enrolled_only
            and conversation is not None
            and conversation.flow == self._entry_flow
        ):
            self._say(turn, t("engine.finish_first"))
            await self._reprompt(turn, conversation)
        else:  # staff commands may leave a registration begun by mistake: staff need none
            await self._start_flow(turn, command.flow, args.strip(), command.values)

    # -- flows ---------------------------------------------------------------------------

    async def _ensure_identity(self, turn: _Turn) -> Identity:
        if turn.identity is None:
            inbound = turn.inbound
            turn.identity = await turn.uow.identities.create(
                inbound.channel, inbound.user_id, turn.locale
            )
        return turn.identity

    def _context(
        self, turn: _Turn, values: dict[str, Any], identity: Identity | None = None
    ) -> FlowContext[Any, Any]:
        identity = identity or turn.identity
        assert identity is not None
        return FlowContext(
            turn.uow,
            identity,
            turn.subject,
            values,
            turn.locale,
            turn.now,
            self._services,
            turn.after_commit,
            turn.after_delivery,
            turn.inbound.origin,
        )

    async def _start_flow(
        self, turn: _Turn, flow_name: str, args: str = "", preset: Mapping[str, Any] | None = None
    ) -> None:
        flow = self._flows[flow_name]
        identity = await self._ensure_identity(turn)
        ctx = self._context(turn, {**(preset or {}), **({"args": args} if args else {})})
        if flow.guard is not None:
            refusal = await flow.guard(ctx)
            if refusal is not None:
                self._say(turn, refusal)
                await self._reprompt_or_home(turn, home=False)
                return
        if flow.init is not None:
            ctx.values.update(await flow.init(ctx))
        first = flow.first_step(ctx)
        seq = turn.conversation.seq if turn.conversation else 0
        conversation = Conversation(identity.id, flow.name, first.name, ctx.values, (), seq)
        await self._reprompt(turn, conversation)

    async def _answer(self, turn: _Turn, conversation: Conversation) -> None:
        flow = self._flows[conversation.flow]
        step = flow.step(conversation.step)
        ctx = self._context(turn, dict(conversation.values))
        prompt = step.prompt(ctx)
        answer = self._read_answer(turn, conversation, prompt)
        if answer is None:
            await self._reprompt(turn, conversation)
            return
        outcome = await step.handle(ctx, answer)
        if isinstance(outcome, Retry):
            turn.pressed_label = None
            self._say(turn, outcome.reason)
            await self._reprompt(turn, conversation, short=True)
        elif isinstance(outcome, Accept):
            await self._advance(turn, conversation, flow, step, ctx, outcome)
        elif isinstance(outcome, Finish):
            await turn.uow.conversations.delete(conversation.identity_id)
            turn.conversation = None
            for message in outcome.messages[:-1] if outcome.choices else outcome.messages:
                self._say(turn, message)
            if outcome.choices:
                self._offer(turn, outcome.messages[-1], outcome.choices)
        elif isinstance(outcome, Abort):
            await self._leave(turn, forget=outcome.forget)
            for message in outcome.messages:
                self._say(turn, message)

    def _read_answer(
        self, turn: _Turn, conversation: Conversation, prompt: Prompt
    ) -> Answer | None:
        """Match the update against the current step; None (with a notice) when it cannot apply."""
        inbound = turn.inbound
        choices = self._choices(turn.locale, prompt)
        if inbound.kind is InboundKind.CHOICE:
            chosen = next((c for c in choices if c.id == inbound.choice_id), None)
            if inbound.token != str(conversation.seq) or chosen is None:
                turn.stale = True
                self._say(turn, t("engine.stale"))
                return None
            turn.pressed_label = chosen.label
            return Answer(choice_id=chosen.id)
        if inbound.kind is InboundKind.TEXT:
            # a number or a label; "có", "đồng ý ạ", "không", "xong": a yes, a no, a done
            matched = match_typed(inbound.text, choices, by_index=not prompt.numeric)
            return Answer(choice_id=matched.id if matched else None, text=inbound.text.strip())
        if inbound.kind is InboundKind.CONTACT:
            return Answer(phone=inbound.phone, phone_is_own=inbound.phone_is_own)
        if inbound.kind is InboundKind.FILE:
            return Answer(file=inbound.file)
        self._say(turn, t("engine.unsupported_input"))
        return None

    async def _advance(
        self,
        turn: _Turn,
        conversation: Conversation,
        flow: Flow,
        step: Step,
        ctx: FlowContext[Any, Any],
        outcome: Accept,
    ) -> None:
        ctx.values.update(outcome.values)
        if outcome.notice is not None:
            self._say(turn, outcome.notice)
        if outcome.goto is not None:
            target = flow.step(outcome.goto)
        elif ctx.values.pop("_edit", False) and flow.hub is not None:
            target = flow.step(flow.hub)
            if flow.on_hub_return is not None:
                await flow.on_hub_return(ctx)
        else:
            following = flow.next_step(step.name, ctx)
            if following is None:
                raise LookupError(f"flow {flow.name!r} ran past its last step {step.name!r}")
            target = following
        # the history holds questions: a step's follow-up (part_of) is not one of its own
        history = (
            conversation.history
            if target.question == step.question
            else (*conversation.history, step.question)
        )
        moved = replace(conversation, step=target.name, values=ctx.values, history=history)
        await self._reprompt(turn, moved)

    async def _leave(self, turn: _Turn, *, forget: bool) -> None:
        identity = turn.identity
        if identity is None:
            return
        await turn.uow.conversations.delete(identity.id)
        turn.conversation = None
        if forget and identity.subject_id is None:
            await turn.uow.identities.delete(identity.id)
            turn.identity = None

    # -- replies -------------------------------------------------------------------------

    def _text(self, turn: _Turn, text: Text | Joined | str) -> str:
        return self.text(turn.locale, text, typed=not turn.inbound.buttons)

    def _say(self, turn: _Turn, text: Text | Joined) -> None:
        turn.replies.append(Reply(self._text(turn, text), turn.locale))

    def _offer(self, turn: _Turn, text: Text, specs: tuple[ChoiceSpec, ...]) -> None:
        """A text with buttons that are commands, answerable in any state."""
        choices = self._choices(turn.locale, Prompt(text, specs))
        turn.replies.append(
            Reply(self._text(turn, text), turn.locale, choices, Expect.CHOICE, GLOBAL_TOKEN)
        )

    def _choices(self, locale: str, prompt: Prompt) -> tuple[Choice, ...]:
        return tuple(
            Choice(
                spec.id,
                spec.label if isinstance(spec.label, str) else self.text(locale, spec.label),
                spec.means,
            )
            for spec in prompt.choices
        )

    async def _reprompt(
        self, turn: _Turn, conversation: Conversation, *, short: bool = False
    ) -> None:
        """Ask the conversation's current step, under a new token that its buttons will carry;
        ``short``: after an answer that did not fit, its short form if it has one."""
        flow = self._flows[conversation.flow]
        ctx = self._context(turn, dict(conversation.values))
        prompt = flow.step(conversation.step).prompt(ctx)
        if short and prompt.short is not None:
            prompt = replace(prompt, text=prompt.short)
        saved = replace(conversation, seq=conversation.seq + 1)
        await turn.uow.conversations.save(saved)
        turn.conversation = saved
        phone_button = self._text(turn, prompt.phone_button) if prompt.phone_button else None
        turn.replies.append(
            Reply(
                self._text(turn, prompt.text),
                turn.locale,
                self._choices(turn.locale, prompt),
                prompt.expect,
                str(saved.seq),
                phone_button,
                prompt.numeric,
            )
        )

    async def _reprompt_or_home(self, turn: _Turn, *, home: bool = True) -> None:
        if turn.conversation is not None:
            await self._reprompt(turn, turn.conversation)
        elif home and turn.subject is not None:
            await self._greet_enrolled(turn)

    async def locale_for(self, inbound: Inbound) -> str:
        """The user's language, from their account if the database answers, else the hint."""
        try:
            async with self._store.transaction() as uow:
                identity = await uow.identities.get(inbound.channel, inbound.user_id)
        except Exception:
            identity = None
        if identity is not None and identity.locale:
            return identity.locale
        return self._tr.resolve(inbound.language_hint)

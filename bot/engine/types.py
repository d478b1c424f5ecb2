"""Neutral message shapes: what a channel hands the engine and what the engine hands back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "Choice",
    "Expect",
    "FileRef",
    "Inbound",
    "InboundKind",
    "Joined",
    "Reply",
    "Result",
    "Text",
    "reply_from_json",
    "reply_to_json",
    "t",
    "text_from_json",
    "text_to_json",
]


class InboundKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    CONTACT = "contact"
    FILE = "file"
    COMMAND = "command"
    OTHER = "other"  # stickers, locations, ... anything we cannot use
    UNREADABLE = "unreadable"  # the platform withheld the content (Zalo, some accounts)
    MEMBER = "member"  # the user blocked (``reachable`` False) or unblocked the bot
    FORGET = "forget"  # the platform says the user took back the app's access: forget them


class Expect(StrEnum):
    """What input the current step waits for."""

    TEXT = "text"
    CHOICE = "choice"
    PHONE = "phone"
    FILE = "file"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the user sent. After intake, ``sha256`` names the stored copy, or ``problem``
    says why there is none (too_large, wrong_type, download_failed, storage_failed, not_found)."""

    file_id: str
    kind: str  # "photo" | "document"
    mime_type: str | None = None
    size: int | None = None
    name: str | None = None
    sha256: str | None = None
    problem: str | None = None
    new_blob: bool = False  # this intake wrote the stored copy (so may remove it again)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One update from one user of one channel, already parsed by the channel's handler."""

    channel: str
    user_id: str
    kind: InboundKind
    update_id: str | None = None
    text: str = ""
    choice_id: str | None = None
    token: str | None = None  # which prompt the pressed button belonged to
    phone: str | None = None
    phone_is_own: bool = True  # a shared contact that is not the sender's own number
    file: FileRef | None = None
    command: str | None = None
    args: str = ""
    language_hint: str | None = None
    chat_id: str | None = None  # where replies go, when the platform names it apart from the user
    reachable: bool | None = None  # MEMBER updates: whether the bot may write to the user again
    buttons: bool = True  # the channel shows buttons (else numbered menus, typed answers)
    # where the message was addressed, as the channel knows it: a ward's own page (a Zalo
    # Official Account) gives its ward's code, which registration offers first
    origin: str | None = None
    # whether the update may be held in the receiver's inbox, whose row its claim then takes
    # out; False for one handled before it was acknowledged (Telegram's polling offset)
    inboxed: bool = True

    @property
    def reply_to(self) -> str:
        return self.chat_id or self.user_id


@dataclass(frozen=True, slots=True)
class Text:
    """A message id with its parameters, translated by the engine in the user's locale."""

    key: str
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Joined:
    """Several texts shown as one, e.g. a list of reasons."""

    parts: tuple[Text | Joined | str, ...]
    separator: str = "; "


def t(key: str, /, **params: object) -> Text:
    """Build a translatable text; ``t`` is the Babel extraction keyword."""
    return Text(key, MappingProxyType(params))


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str
    means: str | None = None  # "yes" or "no": what "có", "ok", "không"… typed choose


@dataclass(frozen=True, slots=True)
class Reply:
    """A localized message: text, choices with stable ids, and what the user should send next."""

    text: str
    locale: str
    choices: tuple[Choice, ...] = ()
    expect: Expect = Expect.NONE
    token: str | None = None
    phone_button: str | None = None  # label of a "share my number" button, if the channel has one
    numeric: bool = False  # choices labelled with numbers are answered by typing the number


@dataclass(frozen=True, slots=True)
class Result:
    """What handling one update produced."""

    replies: tuple[Reply, ...] = ()
    pressed_label: str | None = None  # the accepted button's label, to mark the old message
    stale: bool = False  # a button that no longer applies was pressed
    duplicate: bool = False
    reply_ids: tuple[int, ...] = ()  # the replies' outbox rows, to acknowledge once delivered
    retry: bool = False  # the database was unavailable: nothing happened, try again later
    # to run once the replies are delivered (``Engine.delivered``)
    after_delivery: tuple[Callable[[], Awaitable[None]], ...] = ()


def text_to_json(text: Text | Joined | str) -> Any:
    """A text as JSON, so a message can wait in the outbox and be translated when sent."""
    if isinstance(text, str):
        return text
    if isinstance(text, Joined):
        return {"join": [text_to_json(part) for part in text.parts], "sep": text.separator}
    return {
        "key": text.key,
        "params": {
            name: text_to_json(value) if isinstance(value, Text | Joined) else value
            for name, value in text.params.items()
        },
    }


def text_from_json(data: Any) -> Text | Joined | str:
    if isinstance(data, str):
        return data
    if "join" in data:
        return Joined(tuple(text_from_json(part) for part in data["join"]), data["sep"])
    params = {
        name: text_from_json(value) if isinstance(value, dict) else value
        for name, value in data["params"].items()
    }
    return t(data["key"], **params)


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A rendered reply as JSON, so that it can wait in the outbox until it is delivered."""
    return {
        "text": reply.text,
        "locale": reply.locale,
        "choices": [[choice.id, choice.label] for choice in reply.choices],
        "expect": reply.expect.value,
        "token": reply.token,
        "phone_button": reply.phone_button,
        "numeric": reply.numeric,
    }


def reply_from_json(data: Mapping[str, Any]) -> Reply:
    return Reply(
        str(data["text"]),
        str(data["locale"]),
        tuple(Choice(str(choice_id), str(label)) for choice_id, label in data.get("choices", ())),
        Expect(data.get("expect", Expect.NONE.value)),
        data.get("token"),
        data.get("phone_button"),
        bool(data.get("numeric", False)),
    )

"""Telegram updates, as the Bot API's JSON, into the engine's neutral ``Inbound``.

Both client libraries hand the update over as the same JSON (the payload the inbox stores), so
this reads plain dictionaries and imports neither (https://core.telegram.org/bots/api#update).
"""

from __future__ import annotations

from typing import Any

from bot.engine import FileRef, Inbound, InboundKind
from bot.handlers.telegram.description import TELEGRAM
from bot.services.evidence import clean_file_name

__all__ = [
    "CHANNEL",
    "callback_query",
    "pack_callback",
    "parse_update",
    "unpack_callback",
]

CHANNEL = TELEGRAM.name


def pack_callback(token: str | None, choice_id: str) -> str:
    data = f"{token or ''}:{choice_id}"
    if len(data.encode()) > 64:
        raise ValueError("callback data over Telegram's 64 bytes")
    return data


def unpack_callback(data: str | None) -> tuple[str | None, str | None]:
    token, sep, choice_id = (data or "").partition(":")
    if not sep or not choice_id:
        return None, None
    return token or None, choice_id


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _message(update_id: str, message: dict[str, Any]) -> Inbound | None:
    user = _dict(message.get("from"))
    user_id = _int(user.get("id"))
    if user_id is None or user.get("is_bot") or _dict(message.get("chat")).get("type") != "private":
        return None
    language = _str(user.get("language_code"))

    def make(kind: InboundKind, **fields: Any) -> Inbound:
        return Inbound(
            CHANNEL, str(user_id), kind, update_id=update_id, language_hint=language, **fields
        )

    text = _str(message.get("text"))
    if text is not None:
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            command = head.split("@", 1)[0].lower()
            return make(InboundKind.COMMAND, command=command, args=args)
        return make(InboundKind.TEXT, text=text)
    contact = _dict(message.get("contact"))
    phone = _str(contact.get("phone_number"))
    if phone is not None:
        own = _int(contact.get("user_id")) == user_id
        return make(InboundKind.CONTACT, phone=phone, phone_is_own=own)
    caption = _str(message.get("caption")) or ""
    photos = [
        _dict(size) for size in message.get("photo") or () if _str(_dict(size).get("file_id"))
    ]
    if photos:
        photo = max(
            photos,
            key=lambda size: (_int(size.get("width")) or 0) * (_int(size.get("height")) or 0),
        )
        ref = FileRef(str(photo["file_id"]), "photo", "image/jpeg", _int(photo.get("file_size")))
        return make(InboundKind.FILE, file=ref, text=caption)
    doc = _dict(message.get("document"))
    file_id = _str(doc.get("file_id"))
    if file_id is not None:
        ref = FileRef(
            file_id,
            "document",
            _str(doc.get("mime_type")),
            _int(doc.get("file_size")),
            # the name the sender's app gave: any text (a NUL, which PostgreSQL refuses in text)
            clean_file_name(_str(doc.get("file_name"))),
        )
        return make(InboundKind.FILE, file=ref, text=caption)
    return make(InboundKind.OTHER)


def _callback(update_id: str, query: dict[str, Any]) -> Inbound | None:
    user = _dict(query.get("from"))
    user_id = _int(user.get("id"))
    if user_id is None:
        return None
    token, choice_id = unpack_callback(_str(query.get("data")))
    return Inbound(
        CHANNEL,
        str(user_id),
        InboundKind.CHOICE,
        update_id=update_id,
        choice_id=choice_id,
        token=token,
        language_hint=_str(user.get("language_code")),
    )


def _membership(update_id: str, change: dict[str, Any]) -> Inbound | None:
    """In a private chat, the bot's own status: "kicked" when the user blocks it, "member"
    when they unblock it (https://core.telegram.org/bots/api#chatmemberupdated)."""
    user = _dict(change.get("from"))
    user_id = _int(user.get("id"))
    if _dict(change.get("chat")).get("type") != "private" or user_id is None or user.get("is_bot"):
        return None
    status = _dict(change.get("new_chat_member")).get("status")
    if status not in ("kicked", "member"):
        return None
    return Inbound(
        CHANNEL, str(user_id), InboundKind.MEMBER, update_id=update_id, reachable=status == "member"
    )


def parse_update(update: dict[str, Any]) -> Inbound | None:
    """None for updates the bot does not serve (groups, channels, edits, other bots) and for
    anything that is not a well-formed update."""
    update_id = _int(update.get("update_id"))
    if update_id is None:
        return None
    if isinstance(update.get("message"), dict):
        return _message(str(update_id), update["message"])
    if isinstance(update.get("callback_query"), dict):
        return _callback(str(update_id), update["callback_query"])
    if isinstance(update.get("my_chat_member"), dict):
        return _membership(str(update_id), update["my_chat_member"])
    return None


def callback_query(update: dict[str, Any]) -> dict[str, Any] | None:
    """The pressed button's query (its id, and the message it sat on), if the update is one."""
    query = update.get("callback_query")
    return query if isinstance(query, dict) else None

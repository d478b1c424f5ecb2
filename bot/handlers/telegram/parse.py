"""Telegram updates into the engine's neutral ``Inbound``."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.engine import FileRef, Inbound, InboundKind

__all__ = ["CHANNEL", "pack_callback", "parse_update", "unpack_callback"]

CHANNEL = "telegram"


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


def _message(update_id: str, message: Message) -> Inbound | None:
    user = message.from_user
    if user is None or user.is_bot or message.chat.type != "private":
        return None

    def make(kind: InboundKind, **fields: Any) -> Inbound:
        return Inbound(
            CHANNEL,
            str(user.id),
            kind,
            update_id=update_id,
            language_hint=user.language_code,
            **fields,
        )

    if message.text is not None:
        text = message.text
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            command = head.split("@", 1)[0].lower()
            return make(InboundKind.COMMAND, command=command, args=args)
        return make(InboundKind.TEXT, text=text)
    if message.contact is not None:
        own = message.contact.user_id == user.id
        return make(InboundKind.CONTACT, phone=message.contact.phone_number, phone_is_own=own)
    caption = message.caption or ""
    if message.photo:
        photo = max(message.photo, key=lambda size: size.width * size.height)
        ref = FileRef(photo.file_id, "photo", "image/jpeg", photo.file_size)
        return make(InboundKind.FILE, file=ref, text=caption)
    if message.document is not None:
        doc = message.document
        ref = FileRef(doc.file_id, "document", doc.mime_type, doc.file_size, doc.file_name)
        return make(InboundKind.FILE, file=ref, text=caption)
    return make(InboundKind.OTHER)


def _callback(update_id: str, query: CallbackQuery) -> Inbound:
    token, choice_id = unpack_callback(query.data)
    return Inbound(
        CHANNEL,
        str(query.from_user.id),
        InboundKind.CHOICE,
        update_id=update_id,
        choice_id=choice_id,
        token=token,
        language_hint=query.from_user.language_code,
    )


def _membership(update_id: str, change: ChatMemberUpdated) -> Inbound | None:
    """In a private chat, the bot's own status: "kicked" when the user blocks it, "member"
    when they unblock it (https://core.telegram.org/bots/api#chatmemberupdated)."""
    if change.chat.type != "private" or change.from_user.is_bot:
        return None
    status = change.new_chat_member.status
    if status not in ("kicked", "member"):
        return None
    return Inbound(
        CHANNEL,
        str(change.from_user.id),
        InboundKind.MEMBER,
        update_id=update_id,
        reachable=status == "member",
    )


def parse_update(update: Update) -> Inbound | None:
    """None for updates the bot does not serve (groups, channels, edits, other bots)."""
    update_id = str(update.update_id)
    if update.message is not None:
        return _message(update_id, update.message)
    if update.callback_query is not None:
        return _callback(update_id, update.callback_query)
    if update.my_chat_member is not None:
        return _membership(update_id, update.my_chat_member)
    return None

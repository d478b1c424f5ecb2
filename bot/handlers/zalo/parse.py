"""Zalo updates into the engine's neutral ``Inbound`` (command words and staff's typed
decisions are read by the engine, the same on every channel)."""

from __future__ import annotations

from typing import Any

from bot.engine import FileRef, Inbound, InboundKind
from bot.handlers.zalo.description import ZALO

__all__ = ["CHANNEL", "parse_update", "unwrap"]

CHANNEL = ZALO.name


def unwrap(body: Any) -> dict[str, Any] | None:
    """Both webhook shapes: ``{"ok": true, "result": update}`` and the bare update."""
    if not isinstance(body, dict):
        return None
    if "result" in body and isinstance(body["result"], dict):
        return body["result"]
    return body if "event_name" in body or "message" in body else None


def parse_update(update: dict[str, Any]) -> Inbound | None:
    """None for what the bot does not serve (groups, updates without a sender)."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    if sender.get("id") is None or sender.get("is_bot") or chat.get("chat_type") == "GROUP":
        return None
    user, update_id = str(sender["id"]), message.get("message_id")
    base: dict[str, Any] = {
        "update_id": str(update_id) if update_id is not None else None,
        "buttons": ZALO.buttons,  # Zalo shows no buttons: every choice is a numbered menu
    }
    # Replies go to chat.id, as the platform documents and its SDK does (python-zalo-bot,
    # zalo_bot/_message.py: Message.reply_text sends to self.chat.id).
    if chat.get("id") is not None:
        base["chat_id"] = str(chat["id"])
    event = str(update.get("event_name") or "")
    text = message.get("text")
    if event.endswith("text.received") or (text and not event):
        text = str(text or "")
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, args = stripped[1:].partition(" ")
            return Inbound(
                CHANNEL, user, InboundKind.COMMAND, command=head.lower(), args=args, **base
            )
        return Inbound(CHANNEL, user, InboundKind.TEXT, text=text, **base)
    # Live image events carry the address in ``photo_url`` (the documentation says ``photo``):
    # python-zalo-bot's zalo_bot/_message.py reads data.get("photo_url"), and openclaw/openclaw
    # fixed dropped images the same way (pull requests 49172 and 51543).
    photo = message.get("photo_url") or message.get("photo")
    if event.endswith("image.received") and isinstance(photo, str) and photo:
        ref = FileRef(photo, "photo")
        return Inbound(
            CHANNEL,
            user,
            InboundKind.FILE,
            file=ref,
            text=str(message.get("caption") or ""),
            **base,
        )
    if event.endswith("unsupported.received"):  # the content is withheld (children's accounts)
        return Inbound(CHANNEL, user, InboundKind.UNREADABLE, **base)
    return Inbound(CHANNEL, user, InboundKind.OTHER, **base)

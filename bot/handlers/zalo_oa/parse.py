"""A Zalo Official Account's webhook events into the engine's neutral ``Inbound``, and the
events' signature. The event shapes and their sources are in tests/fakes/zalo_oa.py.

A user is known to each OA under an id of that OA's, and replies must go out through the OA
they wrote to: the chat account is therefore ``<oa_id>:<user_id>`` (the same person writing
to two wards' OAs holds two accounts, which /link joins as on any two channels)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from bot.engine import FileRef, Inbound, InboundKind

__all__ = [
    "CHANNEL",
    "account",
    "json_object",
    "oa_of",
    "parse_event",
    "split_account",
    "valid_mac",
]

CHANNEL = "zalo_oa"
USER_EVENTS = ("user_send_", "anonymous_send_")
DELIVERY_EVENTS = ("user_received_message", "user_seen_message", "oa_send_")


def valid_mac(header: str, app_id: str, raw: bytes, timestamp: str, secret_key: str) -> bool:
    """``X-ZEvent-Signature: mac=<hex>`` with mac = SHA-256 of app id + raw body + timestamp
    + the OA secret key (a plain hash, not an HMAC), compared in constant time."""
    given = header.strip().removeprefix("mac=").strip().lower()
    signed = app_id.encode() + raw + timestamp.encode() + secret_key.encode()
    expected = hashlib.sha256(signed).hexdigest()
    return hmac.compare_digest(given.encode(), expected.encode())


def account(oa_id: str, user_id: str) -> str:
    return f"{oa_id}:{user_id}"


def split_account(external_id: str) -> tuple[str, str]:
    oa_id, _, user_id = external_id.partition(":")
    return oa_id, user_id


def oa_of(event: dict[str, Any]) -> str | None:
    """The OA an event concerns: the recipient of a user's message, the sender of what the
    OA sent (delivery events)."""
    name = str(event.get("event_name") or "")
    side = "sender" if name.startswith(DELIVERY_EVENTS) else "recipient"
    oa_id = json_object(event.get(side)).get("id") or event.get("oa_id")
    return str(oa_id) if oa_id is not None else None


def parse_event(event: dict[str, Any]) -> Inbound | None:
    """None for what needs no answer (delivery receipts, what the OA itself sent, events
    without a user)."""
    name = str(event.get("event_name") or "")
    if name.startswith(DELIVERY_EVENTS):
        return None
    oa_id = oa_of(event)
    user = (
        json_object(event.get("sender")).get("id")
        or json_object(event.get("follower")).get("id")
        or event.get("user_id")
    )
    if oa_id is None or user is None or str(user) == oa_id:
        return None
    message = json_object(event.get("message"))
    msg_id = message.get("msg_id")
    # follows, unfollows and withdrawals carry no message id: the event and its time name it
    # (hashed: processed_updates keeps ids a week, and an id must not name the user)
    moment = str(event.get("timestamp", ""))
    update_id = str(msg_id) if msg_id else f"{name}:{_digest(f'{user}:{moment}')}"
    base: dict[str, Any] = {"update_id": update_id, "buttons": False}  # numbered menus
    who = account(oa_id, str(user))
    if name == "follow":
        return Inbound(CHANNEL, who, InboundKind.MEMBER, reachable=True, **base)
    if name == "unfollow":
        return Inbound(CHANNEL, who, InboundKind.MEMBER, reachable=False, **base)
    if name == "user_withdraw":  # the user took back the app's access: forget them
        return Inbound(CHANNEL, who, InboundKind.FORGET, **base)
    if not name.startswith(USER_EVENTS):
        return None
    text = message.get("text")
    if name.endswith("send_text"):
        text = str(text or "")
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, args = stripped[1:].partition(" ")
            return Inbound(
                CHANNEL, who, InboundKind.COMMAND, command=head.lower(), args=args, **base
            )
        return Inbound(CHANNEL, who, InboundKind.TEXT, text=text, **base)
    attachments = message.get("attachments")
    first = json_object(attachments[0] if isinstance(attachments, list) and attachments else None)
    payload = json_object(first.get("payload"))
    url = payload.get("url")
    if name.endswith(("send_image", "send_file")) and isinstance(url, str) and url:
        kind = "photo" if name.endswith("send_image") else "document"
        try:
            size = int(payload.get("size") or 0) or None
        except (TypeError, ValueError):
            size = None
        ref = FileRef(url, kind, name=str(payload.get("name") or "") or None, size=size)
        return Inbound(CHANNEL, who, InboundKind.FILE, file=ref, text=str(text or ""), **base)
    return Inbound(CHANNEL, who, InboundKind.OTHER, **base)  # stickers, links, locations …


def json_object(value: object) -> dict[str, Any]:
    """A JSON object from Zalo, or an empty one where it sent something else."""
    return value if isinstance(value, dict) else {}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]

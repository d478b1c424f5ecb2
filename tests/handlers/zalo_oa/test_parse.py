"""The OA's events as the engine reads them, and their signature, built by the fake server
exactly as it sends them (tests/fakes/zalo_oa.py names the sources)."""

from __future__ import annotations

import json

from bot.engine import InboundKind
from bot.handlers.zalo_oa.parse import oa_of, parse_event, split_account, valid_mac
from tests.fakes.zalo_oa import APP_ID, OA_SECRET_KEY, FakeZaloOA

OA = "4321000000000000001"


def fake() -> FakeZaloOA:
    server = FakeZaloOA()
    server.add_oa(OA, "Phường Lê Chân")
    return server


def test_the_mac_is_a_plain_sha256_of_app_body_timestamp_and_secret() -> None:
    raw, headers = fake().event(OA, "u1", text="xin chào")
    timestamp = json.loads(raw)["timestamp"]
    header = headers["X-ZEvent-Signature"]
    assert valid_mac(header, APP_ID, raw, timestamp, OA_SECRET_KEY)
    assert not valid_mac(header, APP_ID, raw + b" ", timestamp, OA_SECRET_KEY)  # body changed
    assert not valid_mac(header, APP_ID, raw, str(int(timestamp) + 1), OA_SECRET_KEY)
    assert not valid_mac(header, APP_ID, raw, timestamp, "another OA's key")
    assert not valid_mac("", APP_ID, raw, timestamp, OA_SECRET_KEY)
    forged_raw, forged = fake().event(OA, "u1", text="x", signature="0" * 64)
    stamp = json.loads(forged_raw)["timestamp"]
    assert not valid_mac(forged["X-ZEvent-Signature"], APP_ID, forged_raw, stamp, OA_SECRET_KEY)


def test_each_event_becomes_what_the_engine_reads() -> None:
    server = fake()

    def parsed(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return parse_event(json.loads(server.event(OA, "u1", *args, **kwargs)[0]))  # type: ignore[arg-type]

    text = parsed(text="Tôi muốn đăng ký")
    assert text is not None and text.kind is InboundKind.TEXT and text.text == "Tôi muốn đăng ký"
    assert split_account(text.user_id) == (OA, "u1") and not text.buttons
    command = parsed(text="/status")
    assert command is not None and command.kind is InboundKind.COMMAND
    assert command.command == "status"
    photo = parsed(
        "user_send_image",
        attachments=[{"type": "image", "payload": {"url": "http://x/p.jpg"}}],
    )
    assert photo is not None and photo.kind is InboundKind.FILE and photo.file is not None
    assert (photo.file.file_id, photo.file.kind) == ("http://x/p.jpg", "photo")
    document = parsed(
        "user_send_file",
        attachments=[
            {"type": "file", "payload": {"url": "http://x/a.pdf", "name": "a.pdf", "size": "2048"}}
        ],
    )
    assert document is not None and document.file is not None
    assert (document.file.kind, document.file.name, document.file.size) == (
        "document",
        "a.pdf",
        2048,
    )
    sticker = parsed("user_send_sticker")
    assert sticker is not None and sticker.kind is InboundKind.OTHER
    unfollow = parsed("unfollow")
    assert unfollow is not None and unfollow.kind is InboundKind.MEMBER and not unfollow.reachable
    withdraw = parsed("user_withdraw")
    assert withdraw is not None and withdraw.kind is InboundKind.FORGET
    # a receipt of what the OA sent answers nothing, and names the OA as its sender
    receipt = json.loads(server.event(OA, "u1", "user_seen_message")[0])
    assert parse_event(receipt) is None and oa_of(receipt) == OA
    # two events of one user have two ids; a message keeps its own
    first, second = parsed(text="a"), parsed(text="b")
    assert first is not None and second is not None and first.update_id != second.update_id

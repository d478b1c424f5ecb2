"""Helpers for verification tests: staff accounts, a recording deliverer, submitted declarations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.domain.usecases.roles import create_invitation
from bot.engine import Reply
from bot.services.outbox import DeliveryError, OutboxSender, OutgoingFile
from tests.chat import Chat, register


@dataclass
class Delivered:
    external_id: str
    text: str
    choices: list[str]
    file: OutgoingFile | None = None


@dataclass
class RecordingDeliverer:
    """A channel's delivery end, recording what it was asked to send."""

    name: str = "test"
    sent: list[Delivered] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        if self.failures:
            raise self.failures.pop(0)
        if file is not None:
            self.sent.append(Delivered(external_id, file.caption, [], file))
        elif reply is not None:
            self.sent.append(Delivered(external_id, reply.text, [c.id for c in reply.choices]))

    def to(self, external_id: str) -> list[Delivered]:
        return [d for d in self.sent if d.external_id == external_id]


async def invite(app: App, role: str = "coordinator", wards: tuple[str, ...] = ("11383",)) -> str:
    async with app.store.transaction() as uow:
        return await create_invitation(
            uow, role, wards, "test", datetime.now(UTC), timedelta(days=7)
        )


async def coordinator(
    app: App,
    user: str,
    wards: tuple[str, ...] = ("11383",),
    name: str | None = None,
    phone: str | None = None,
    channel: str = "test",
) -> Chat:
    """A coordinator's chat, bound to ``wards`` (11383 is Phường Lê Chân), who gave a display
    name (by default "Cán bộ <user>") and, if ``phone``, a number citizens may call."""
    chat = Chat(app.engine, user=user, channel=channel)
    await chat.send(f"/coordinator {await invite(app, wards=wards)}")
    chat.expect("cán bộ phụ trách", "Người dân sẽ thấy tên nào")
    await chat.send(name or f"Cán bộ {user}")
    chat.expect("Số điện thoại để người dân liên hệ")
    await (chat.send(phone) if phone else chat.press("skip"))
    chat.expect("Đã lưu: người dân sẽ thấy")
    return chat


async def submitted(app: App, user: str, scores: dict[int, int] | None = None) -> Chat:
    """A registered citizen of Phường Lê Chân who submitted a declaration."""
    chat = Chat(app.engine, user=user)
    await register(chat)
    await chat.send("/declare")
    await chat.press("begin")
    for _, score in sorted((scores or {i: 9 for i in range(1, 11)}).items()):
        await chat.send(str(score))
        await chat.press("none")
    await chat.press("submit")
    chat.expect("Đã nộp")
    return chat


def sender(app: App, deliverer: RecordingDeliverer) -> OutboxSender:
    return app.outbox_sender(deliverer)


async def declaration_id(app: App) -> int:
    async with app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    return declaration.id

"""Every staff action in the chat × every kind of account × both backends: allowed, scoped to
the account's own wards, or refused; a refused action changes no row.

The target is Phường Lê Chân (11383), where five citizens have submitted declarations; a
citizen of Phường Hồng Bàng (11311) and a coordinator there (the one an admin may revoke)
complete the world. Each row of ``EXPECTED`` is checked by the action's effect on the data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App
from bot.domain.consents import PURPOSES
from bot.domain.records import NewCitizen
from bot.domain.usecases.roles import create_invitation, redeem
from tests.chat import Chat
from tests.conftest import make_settings, started_app

TARGET, OTHER = "11383", "11311"
ACTOR = "actor"
ALLOWED, SCOPED, REFUSED = "allowed", "scoped", "refused"
ACTIONS = (
    "queue", "report", "export", "review", "approve", "reject", "return", "adjust", "invite",
    "revoke", "broadcast",
)  # fmt: skip
A, S, R = ALLOWED, SCOPED, REFUSED
EXPECTED: dict[str, tuple[str, ...]] = {
    # queue report export review approve reject return adjust invite revoke broadcast
    "citizen": (R, R, R, R, R, R, R, R, R, R, R),
    "coordinator of the ward": (A, A, A, A, A, A, A, A, R, R, A),
    "coordinator of another ward": (S, S, S, R, R, R, R, R, R, R, S),
    "revoked coordinator": (R, R, R, R, R, R, R, R, R, R, R),
    "admin": (A, A, A, A, A, A, A, A, A, A, A),
    "removed admin": (S, S, S, R, R, R, R, R, R, R, S),
}
# Tables whose rows are the product's data (replies, the update log and conversations are
# the chat's own bookkeeping).
DATA_TABLES = (
    "citizens", "consents", "declarations", "declaration_answers", "declaration_events",
    "evidence_files", "staff", "staff_wards", "invitations", "broadcasts",
)  # fmt: skip
NOW = datetime.now(UTC)


def person(name: str, ward: str, ward_name: str) -> NewCitizen:
    return NewCitizen(
        full_name=name, birth_year=1975, gender=None, phone="+84912000000", group=1,
        ward_code=ward, ward_name=ward_name, ward_data_version="test", residential_group="Tổ 1",
        workplace=None, guardian_consent=None, channel="console", locale="vi",
    )  # fmt: skip


@dataclass
class World:
    app: App
    declarations: dict[str, int]  # action -> the declaration it acts on
    victim: int  # the staff id an admin may revoke
    target_names: tuple[str, ...]


async def build_world(app: App) -> World:
    year = app.services.year(NOW)
    declarations: dict[str, int] = {}
    names = []
    async with app.store.transaction() as uow:
        for number, action in enumerate(("review", "approve", "reject", "return", "adjust")):
            name = f"Người Dân Số {'ABCDE'[number]}"
            names.append(name)
            citizen = await uow.citizens.create(person(name, TARGET, "Phường Lê Chân"), NOW)
            for purpose in PURPOSES:  # as registering records them (the report counts them)
                await uow.consents.record(citizen.id, "test", [purpose], NOW, "console")
            identity = await uow.identities.create("console", f"citizen{number}", "vi")
            await uow.identities.bind(identity.id, citizen.id)
            declaration = await uow.declarations.create(citizen.id, year, "qd324-2023", NOW)
            for indicator in range(1, 11):
                await uow.declarations.set_score(declaration.id, indicator, 9, NOW)
            await uow.declarations.set_status(declaration.id, "submitted", NOW)
            declarations[action] = declaration.id
        other = await uow.citizens.create(person("Người Ở Hồng Bàng", OTHER, "Hồng Bàng"), NOW)
        identity = await uow.identities.create("console", "citizen-other", "vi")
        await uow.identities.bind(identity.id, other.id)
        code = await create_invitation(uow, "coordinator", (OTHER,), "test", NOW, app_valid(app))
        victim = await redeem(uow, "console", "victim", code, NOW)
        assert victim.staff is not None
        # the actor has used the bot before: its account exists
        await uow.identities.create("console", ACTOR, "vi")
    return World(app, declarations, victim.staff.id, tuple(names))


def app_valid(app: App) -> Any:
    return app.services.invite_valid


async def give_code(app: App, wards: tuple[str, ...]) -> str:
    async with app.store.transaction() as uow:
        return await create_invitation(uow, "coordinator", wards, "test", NOW, app_valid(app))


async def snapshot(app: App) -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    async with app.store.engine.connect() as conn:
        for table in DATA_TABLES:
            rows = await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
            found[table] = sorted(tuple(str(value) for value in row) for row in rows)
        rows = await conn.execute(
            text("SELECT id, channel, external_id, kind, payload FROM outbox WHERE kind <> 'reply'")
        )
        found["outbox"] = sorted(tuple(str(value) for value in row) for row in rows)
    return found


async def declaration(app: App, number: int) -> Any:
    async with app.store.transaction() as uow:
        return await uow.declarations.get(number)


# -- the actions: each does it in the chat and says what happened -----------------------------


async def queue(chat: Chat, world: World) -> str:
    await chat.send("/queue")
    if "đang chờ xác nhận" not in chat.text:
        return REFUSED
    return ALLOWED if f"#{world.declarations['review']} " in chat.text else SCOPED


async def report(chat: Chat, world: World) -> str:
    await chat.send("/report")
    if "Số liệu năm" not in chat.text:
        return REFUSED
    return ALLOWED if "Đã nộp, chờ xác nhận: 5" in chat.text else SCOPED


async def export(chat: Chat, world: World) -> str:
    await chat.send("/export csv")  # the Excel file's contents: tests/flows/test_reports.py
    async with world.app.store.transaction() as uow:
        due = await uow.outbox.due("console", datetime.now(UTC), 1000)
    files = [
        row for row in due if row.message.external_id == ACTOR and "file" in row.message.payload
    ]
    if not files:
        return REFUSED
    data = world.app.evidence.path(files[-1].message.payload["file"]["sha256"]).read_text(
        encoding="utf-8-sig"
    )
    return ALLOWED if all(name in data for name in world.target_names) else SCOPED


async def review(chat: Chat, world: World) -> str:
    await chat.send(f"/review {world.declarations['review']}")
    found = await declaration(world.app, world.declarations["review"])
    return ALLOWED if found.claimed_by is not None else REFUSED


async def decision(chat: Chat, world: World, action: str, command: str, status: str) -> str:
    number = world.declarations[action]
    await chat.send(command.format(number=number))
    if "confirm" in chat.choice_ids:  # a decision is confirmed before it is recorded
        await chat.press("confirm")
    return ALLOWED if (await declaration(world.app, number)).status == status else REFUSED


async def approve(chat: Chat, world: World) -> str:
    return await decision(chat, world, "approve", "/duyet {number}", "recognised")


async def reject(chat: Chat, world: World) -> str:
    return await decision(
        chat, world, "reject", "/tuchoi {number} Không cư trú tại phường", "not_recognised"
    )


async def return_(chat: Chat, world: World) -> str:
    return await decision(
        chat, world, "return", "/tra {number} 3 Cần ảnh giấy chứng nhận", "returned"
    )


async def adjust(chat: Chat, world: World) -> str:
    number = world.declarations["adjust"]
    await chat.send(f"/review {number}")
    if "walk" in chat.choice_ids:
        await chat.press("walk")
        await chat.press("next")
        await chat.press("adjust")
        await chat.send("3")
        await chat.send("Chưa có kế hoạch học tập")  # stored with its audit event at once
        await chat.press("decide")
        await chat.press("approve")
        await chat.press("confirm")
    async with world.app.store.transaction() as uow:
        answers = await uow.declarations.answers(number)
    return ALLOWED if answers[2].verified_score == 3 else REFUSED


async def invite(chat: Chat, world: World) -> str:
    await chat.send(f"/invite {TARGET}")
    return ALLOWED if "Mã mời cán bộ phụ trách" in chat.text else REFUSED


async def revoke(chat: Chat, world: World) -> str:
    await chat.send(f"/revoke {world.victim}")
    async with world.app.store.transaction() as uow:
        victim = await uow.staff.get(world.victim)
    assert victim is not None
    return ALLOWED if victim.revoked_at is not None else REFUSED


async def broadcast(chat: Chat, world: World) -> str:
    await chat.send("/broadcast")
    if "Soạn tin thông báo" in chat.text:  # allowed to compose: write, pick everyone, send
        await chat.send("Mời bà con tham gia buổi sinh hoạt học tập tối thứ Bảy.")
        await chat.press("all")
        await chat.press("send")
    async with world.app.store.engine.connect() as conn:
        created = (await conn.execute(text("SELECT count(*) FROM broadcasts"))).scalar_one()
        reached = set(
            (
                await conn.execute(text("SELECT external_id FROM outbox WHERE kind = 'broadcast'"))
            ).scalars()
        )
    if not created:
        return REFUSED
    return ALLOWED if "citizen0" in reached else SCOPED


PERFORM: dict[str, Callable[[Chat, World], Awaitable[str]]] = {
    "queue": queue, "report": report, "export": export, "review": review, "approve": approve,
    "reject": reject, "return": return_, "adjust": adjust, "invite": invite, "revoke": revoke,
    "broadcast": broadcast,
}  # fmt: skip


# -- the accounts -------------------------------------------------------------------------


async def redeem_as(actor: Chat, code: str) -> None:
    await actor.send(f"/coordinator {code}")
    await actor.send("Cán bộ Thử Nghiệm")
    await actor.press("skip")
    actor.expect("Đã lưu")


async def actor_as(role: str, tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    """An app whose account ``console:actor`` has ``role``, over a fresh world."""
    plain = make_settings(tmp_path, database_url=database_url)
    configured = make_settings(tmp_path, database_url=database_url, admins=f"console:{ACTOR}")
    app = await started_app(configured if role == "admin" else plain)
    world = await build_world(app)
    actor = Chat(app.engine, user=ACTOR, channel="console")
    if role == "citizen":
        async with app.store.transaction() as uow:
            citizen = await uow.citizens.create(person("Người Thử", TARGET, "Phường Lê Chân"), NOW)
            identity = await uow.identities.get("console", ACTOR)
            assert identity is not None
            await uow.identities.bind(identity.id, citizen.id)
    elif role in ("coordinator of the ward", "revoked coordinator"):
        await redeem_as(actor, await give_code(app, (TARGET,)))
        if role == "revoked coordinator":
            async with app.store.transaction() as uow:
                member = await uow.staff.by_account("console", ACTOR)
                assert member is not None
                await uow.staff.revoke(member.id, NOW)
    elif role == "coordinator of another ward":
        await redeem_as(actor, await give_code(app, (OTHER,)))
    elif role == "removed admin":
        await app.close()
        app = await started_app(configured)
        actor = Chat(app.engine, user=ACTOR, channel="console")
        await actor.send(f"/review {world.declarations['review']}")  # a claim made a record
        await actor.send("/cancel")
        await redeem_as(actor, await give_code(app, (OTHER,)))
        await app.close()
        app = await started_app(plain)  # then CDHT_ADMINS no longer lists the account
    world.app = app
    try:
        yield world
    finally:
        await app.close()


@pytest.mark.parametrize("role", list(EXPECTED))
async def test_every_staff_action_is_authorised_for_every_account(
    role: str, tmp_path: Path, database_url: str
) -> None:
    outcomes: dict[str, str] = {}
    async for world in actor_as(role, tmp_path, database_url):
        chat = Chat(world.app.engine, user=ACTOR, channel="console")
        for action, expected in zip(ACTIONS, EXPECTED[role], strict=True):
            before = await snapshot(world.app)
            outcomes[action] = await PERFORM[action](chat, world)
            if outcomes[action] == REFUSED:
                after = await snapshot(world.app)
                changed = [table for table in before if before[table] != after[table]]
                assert not changed, f"{role} / {action}: refused, yet {changed} changed"
            assert expected in (outcomes[action],), f"{role} / {action}: {outcomes[action]}"
    assert tuple(outcomes[action] for action in ACTIONS) == EXPECTED[role]

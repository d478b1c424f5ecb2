"""Erasure without a conversation: the citizen's rows go (record, accounts, consents,
corrections, declarations with answers, evidence records and history, the messages about them),
the coordinators who had their declaration open are told it was withdrawn, by number, and
another citizen keeps everything; on SQLite, and on PostgreSQL when CDHT_TEST_POSTGRES_URL is
set."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain.records import EvidenceFile
from bot.domain.usecases.citizens import correct_profile
from bot.domain.usecases.declarations import attach_evidence, save_note, submit
from bot.domain.usecases.erasure import erase_citizen
from bot.domain.usecases.notices import notify_citizen
from bot.engine import t
from bot.engine.ports import Conversation
from storage import SqlStore
from tests.domain.usecases.test_declarations import (
    ALL_NINE,
    CRITERIA,
    NOW,
    answered,
    citizen_of,
    coordinator,
    sent,
    to,
)

LATER = NOW + timedelta(days=3)


def photo(declaration_id: int, sha256: str) -> EvidenceFile:
    return EvidenceFile(
        declaration_id, 1, "photo", "image/jpeg", 2048, sha256, "x.jpg", "telegram", sha256[:8]
    )


async def test_erase_citizen_removes_the_citizens_rows_and_tells_their_reviewers(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        c1, holder = await coordinator(uow, "c1"), await coordinator(uow, "c2")
        citizen = await citizen_of(uow, "42")
        other = await citizen_of(uow, "43", full_name="Trần Văn Bình")
        second = await uow.identities.create("zalo", "77", "vi")
        await uow.identities.bind(second.id, citizen.id)  # linked on Zalo too
        await correct_profile(uow, citizen, replace(citizen, phone="+84912000111"), "zalo:77", NOW)
        declaration = await answered(uow, citizen)
        await save_note(uow, declaration.id, 1, "Thẻ thư viện", NOW)
        await attach_evidence(uow, photo(declaration.id, "ab" * 32), NOW)
        await attach_evidence(uow, photo(declaration.id, "cd" * 32), NOW)
        kept = await answered(uow, other)
        await attach_evidence(uow, photo(kept.id, "ef" * 32), NOW)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        await submit(uow, other, kept.id, CRITERIA, ALL_NINE, NOW)
        await notify_citizen(uow, citizen.id, t("note.reminder.start"), NOW)  # to both accounts
        # c1 has the declaration open in a review; c2 holds its claim
        reviewing = await uow.identities.create("telegram", "c1", "vi")
        values = {"declaration_id": declaration.id, "name": "Nguyễn Văn Cừ"}
        await uow.conversations.save(Conversation(reviewing.id, "review", "walk", values))
        assert await uow.declarations.claim(declaration.id, holder.id, NOW, NOW) == holder.id
        before = to(await sent(uow))
    assert ("zalo:77", "note.reminder.start", "notification") in before

    async with store.transaction() as uow:
        blobs = await erase_citizen(uow, citizen, LATER)
    assert blobs == ["ab" * 32, "cd" * 32]  # for the files, once committed

    async with store.transaction() as uow:
        assert await uow.citizens.get(citizen.id) is None
        assert await uow.identities.for_citizen(citizen.id) == []
        assert await uow.identities.get("telegram", "42") is None
        assert await uow.identities.get("zalo", "77") is None
        assert await uow.consents.for_citizen(citizen.id) == []
        assert await uow.citizens.changes(citizen.id) == []
        assert await uow.declarations.of_citizen(citizen.id) == []
        assert await uow.declarations.get(declaration.id) is None
        assert await uow.declarations.answers(declaration.id) == {}
        assert await uow.declarations.evidence(declaration.id) == []
        assert await uow.declarations.events(declaration.id) == []
        assert await uow.conversations.get(reviewing.id) is None  # it held the name
        messages = await sent(uow)
        # the other citizen keeps everything
        assert await uow.citizens.get(other.id) == other
        assert len(await uow.declarations.answers(kept.id)) == CRITERIA.size
        assert [e.sha256 for e in await uow.declarations.evidence(kept.id)] == ["ef" * 32]
        assert await uow.declarations.blob_in_use("ef" * 32)
        assert not await uow.declarations.blob_in_use("ab" * 32)
    # no message to the citizen's accounts nor about them remains; the reviewers are told by
    # number, and the other citizen's submission is still on its way
    assert to(messages) == sorted(
        [
            # the other citizen's, given to c2 (c1 had the erased one open)
            (holder.account, "note.submitted", "notification"),
            (c1.account, "rev.withdrawn", "notification"),
            (holder.account, "rev.withdrawn", "notification"),
        ]
    )
    for message in messages:
        if message.payload["text"]["key"] == "rev.withdrawn":
            assert message.payload["text"]["params"] == {"id": declaration.id}
            assert message.subject_id is None
        else:
            assert message.subject_id == other.id

"""A declaration without a conversation: opened once a year, answered as given, submitted only
with the sharing consent and told at once to the ward's coordinators (or the city admins), and
resubmitted after a return to the coordinator who returned it; on SQLite, and on PostgreSQL
when CDHT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.domain.consents import REGISTRATION, SHARING, active_purposes
from bot.domain.criteria import load_criteria
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, EvidenceFile, Staff
from bot.domain.usecases.citizens import Agreement, register
from bot.domain.usecases.decisions import Decider, return_for_more
from bot.domain.usecases.declarations import (
    Sharing,
    attach_evidence,
    save_note,
    save_score,
    start,
    submit,
)
from bot.engine import t
from bot.engine.ports import OutboxMessage
from storage import SqlStore
from tests.storage.test_repositories import new_citizen

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
AGREED = NOW - timedelta(days=1)
CRITERIA = load_criteria()
ALL_NINE = {indicator.id: 9 for indicator in CRITERIA.indicators}


async def citizen_of(
    uow: UnitOfWork,
    external_id: str = "42",
    purposes: tuple[str, ...] = (REGISTRATION, SHARING),
    **details: object,
) -> Citizen:
    """A citizen registered on Telegram (Phường Lê Chân, 11383, unless ``details`` say)."""
    account = await uow.identities.create("telegram", external_id, "vi")
    agreement = Agreement("2026-01", AGREED, purposes)
    return await register(uow, account.id, new_citizen(**details), agreement, AGREED)


async def coordinator(
    uow: UnitOfWork,
    external_id: str,
    wards: tuple[str, ...] = ("11383",),
    role: str = "coordinator",
) -> Staff:
    return await uow.staff.redeem(
        "telegram", external_id, role, list(wards), "telegram:admin", AGREED
    )


async def answered(
    uow: UnitOfWork, citizen: Citizen, scores: Mapping[int, int] = ALL_NINE
) -> Declaration:
    """The citizen's draft of 2026 with every score given."""
    declaration = await start(uow, citizen.id, 2026, CRITERIA.id, AGREED)
    for indicator, score in scores.items():
        await save_score(uow, declaration.id, indicator, score, AGREED)
    return declaration


async def sent(uow: UnitOfWork) -> list[OutboxMessage]:
    """The messages waiting in the outbox, on every channel the tests use."""
    later = NOW + timedelta(days=30)
    rows = [
        row for channel in ("telegram", "zalo") for row in await uow.outbox.due(channel, later, 100)
    ]
    return [row.message for row in rows]


def to(messages: list[OutboxMessage]) -> list[tuple[str, str, str]]:
    """(account, text key, kind) of each message, sorted."""
    return sorted(
        (f"{m.channel}:{m.external_id}", m.payload["text"]["key"], m.kind) for m in messages
    )


async def test_start_opens_one_draft_a_year(store: SqlStore) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        first = await start(uow, citizen.id, 2026, CRITERIA.id, NOW)
        again = await start(uow, citizen.id, 2026, "another-set", NOW + timedelta(hours=1))
        next_year = await start(uow, citizen.id, 2027, CRITERIA.id, NOW)
    assert again == first
    assert (first.status, first.year, first.criteria_set, first.submitted_at) == (
        "draft", 2026, CRITERIA.id, None,
    )  # fmt: skip
    assert next_year.id != first.id
    async with store.transaction() as uow:
        years = sorted(d.year for d in await uow.declarations.of_citizen(citizen.id))
    assert years == [2026, 2027]


async def test_answers_are_kept_as_they_are_given(store: SqlStore) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        declaration = await start(uow, citizen.id, 2026, CRITERIA.id, NOW)
        await save_score(uow, declaration.id, 1, 8, NOW)
        await save_note(uow, declaration.id, 1, "Đọc sách mỗi tối", NOW)
        photo = EvidenceFile(
            declaration.id, 1, "photo", "image/jpeg", 2048, "ab" * 32, "the.jpg", "telegram", "f1"
        )
        assert await attach_evidence(uow, photo, NOW)
        assert not await attach_evidence(uow, photo, NOW)  # the same file once
        answers = await uow.declarations.answers(declaration.id)
        (kept,) = await uow.declarations.evidence(declaration.id)
    assert (answers[1].score, answers[1].note, answers[1].evidence_count) == (
        8, "Đọc sách mỗi tối", 1,
    )  # fmt: skip
    assert (kept.sha256, kept.original_name, kept.indicator) == ("ab" * 32, "the.jpg", 1)


async def test_a_new_score_drops_the_coordinators_adjustment_only_when_told(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        await uow.declarations.set_verified(declaration.id, 3, 5, "chưa có minh chứng")
        await uow.declarations.set_verified(declaration.id, 4, 6, "chưa rõ")
        await save_score(uow, declaration.id, 3, 7, NOW)
        await save_score(uow, declaration.id, 4, 7, NOW, drop_adjustment=True)
        answers = await uow.declarations.answers(declaration.id)
    assert (answers[3].score, answers[3].verified_score) == (7, 5)
    assert (answers[4].score, answers[4].verified_score, answers[4].adjust_reason) == (
        7,
        None,
        None,
    )


async def test_submit_refuses_without_the_sharing_consent(store: SqlStore) -> None:
    async with store.transaction() as uow:
        await coordinator(uow, "c1")
        citizen = await citizen_of(uow, purposes=(REGISTRATION,))
        declaration = await answered(uow, citizen)
        submitted = await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        assert submitted.problem == "no_sharing"
        assert submitted.accounts == ()
    async with store.transaction() as uow:
        stored = await uow.declarations.get(declaration.id)
        assert stored is not None and (stored.status, stored.submitted_at) == ("draft", None)
        assert await uow.declarations.events(declaration.id) == []
        assert await sent(uow) == []


async def test_submit_with_the_sharing_given_tells_the_reviewer_it_is_given_to(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        c1, c2 = await coordinator(uow, "c1"), await coordinator(uow, "c2")
        await coordinator(uow, "elsewhere", wards=("11398",))  # another ward's
        citizen = await citizen_of(uow, purposes=(REGISTRATION,))
        declaration = await answered(uow, citizen)
        submitted = await submit(
            uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW,
            admins=("telegram:boss",), sharing=Sharing("2026-02", "zalo"),
        )  # fmt: skip
    assert submitted.problem is None
    assert submitted.evaluation is not None and submitted.evaluation.total == 90
    assert submitted.evaluation.recognised
    assert (submitted.review_round, submitted.resubmitted, submitted.to_admins) == (1, False, False)
    # of the ward's two coordinators, both with nothing open, the lower id is given it
    assert submitted.accounts == (c1.account,)
    async with store.transaction() as uow:
        stored = await uow.declarations.get(declaration.id)
        (event,) = await uow.declarations.events(declaration.id)
        consents = await uow.consents.for_citizen(citizen.id)
        assert SHARING in await active_purposes(uow, citizen.id)
        messages = await sent(uow)
    assert stored is not None and (stored.status, stored.submitted_at) == ("submitted", NOW)
    assert (stored.assigned_to, stored.assigned_at) == (c1.id, NOW)
    assert (event.actor, event.from_status, event.to_status, event.round) == (
        "citizen", "draft", "submitted", 1,
    )  # fmt: skip
    (sharing,) = [c for c in consents if c.purposes == (SHARING,)]
    assert (sharing.notice_version, sharing.channel, sharing.accepted_at) == (
        "2026-02",
        "zalo",
        NOW,
    )
    # the coordinator it was given to: not the ward's other, nor the other ward's, nor admins
    assert to(messages) == [("telegram:c1", "note.submitted", "notification")]
    assert c2.account not in {account for account, _, _ in to(messages)}
    message = messages[0]
    assert message.subject_id == citizen.id  # it names the citizen: erased with them
    params = message.payload["text"]["params"]
    assert (params["id"], params["name"], params["ward"], params["total"], params["round"]) == (
        declaration.id, "Nguyễn Văn Cừ", "Phường Lê Chân", 90, 1,
    )  # fmt: skip
    assert params["total_label"]["key"] == "note.submitted.total"
    assert params["no_coordinator"] == ""
    assert [choice[0] for choice in message.payload["choices"]] == [f"/review {declaration.id}"]


async def test_a_submitted_declaration_is_not_submitted_again(store: SqlStore) -> None:
    async with store.transaction() as uow:
        await coordinator(uow, "c1")
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
    async with store.transaction() as uow:
        again = await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        assert again.problem == "locked"
        assert again.declaration.status == "submitted"  # what the citizen is told
        assert len(await uow.declarations.events(declaration.id)) == 1
        assert len(await sent(uow)) == 1


async def test_a_ward_without_a_coordinator_is_passed_to_the_city_admins(store: SqlStore) -> None:
    async with store.transaction() as uow:
        recorded = await coordinator(uow, "city", wards=(), role="admin")
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen, {**ALL_NINE, 2: 3})  # 84, below 5 on 2
        submitted = await submit(
            uow, citizen, declaration.id, CRITERIA, {**ALL_NINE, 2: 3}, NOW, admins=("zalo:boss",)
        )
        messages = await sent(uow)
    assert submitted.to_admins
    assert submitted.evaluation is not None and not submitted.evaluation.recognised
    assert sorted(submitted.accounts) == sorted(["zalo:boss", recorded.account])
    assert to(messages) == sorted(
        [("zalo:boss", "note.submitted", "notification"),
         (recorded.account, "note.submitted", "notification")]
    )  # fmt: skip
    params = messages[0].payload["text"]["params"]
    assert params["no_coordinator"]["key"] == "note.submitted.no_coordinator"
    assert params["result"]["key"] == "decl.result.fail"


async def test_with_no_coordinator_and_no_admin_no_one_is_told(store: SqlStore) -> None:
    async with store.transaction() as uow:
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        submitted = await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        assert (submitted.problem, submitted.accounts, submitted.to_admins) == (None, (), True)
        assert await sent(uow) == []
        stored = await uow.declarations.get(declaration.id)
        assert stored is not None and stored.status == "submitted"


async def test_a_resubmission_goes_to_the_coordinator_who_returned_it(store: SqlStore) -> None:
    async with store.transaction() as uow:
        c1, c2 = await coordinator(uow, "c1"), await coordinator(uow, "c2")
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        await uow.outbox.erase(citizen.id, [])  # the first round's messages
        submitted_one = await uow.declarations.get(declaration.id)
        assert submitted_one is not None
        await uow.declarations.set_verified(declaration.id, 3, 6, "chưa rõ")
        decider = Decider(c2.account, c2.id, t("note.by", name="Cán bộ c2"))
        await return_for_more(uow, submitted_one, [5], "Thêm minh chứng", decider, NOW)
        await uow.outbox.erase(citizen.id, [])  # the citizen's message about the return
        later = NOW + timedelta(days=2)
        scores = {**ALL_NINE, 3: 6, 5: 10}
        await save_score(uow, declaration.id, 5, 10, later, drop_adjustment=True)
        resubmitted = await submit(
            uow, citizen, declaration.id, CRITERIA, scores, later, adjusted=True
        )
        messages = await sent(uow)
        stored = await uow.declarations.get(declaration.id)
        events = await uow.declarations.events(declaration.id)
    assert (resubmitted.resubmitted, resubmitted.review_round, resubmitted.accounts) == (
        True, 2, (c2.account,),
    )  # fmt: skip
    assert stored is not None and (stored.status, stored.review_round, stored.reopened) == (
        "submitted", 2, (),
    )  # fmt: skip
    assert (events[-1].from_status, events[-1].to_status, events[-1].round) == (
        "returned", "submitted", 2,
    )  # fmt: skip
    assert to(messages) == [("telegram:c2", "note.submitted", "notification")]
    params = messages[0].payload["text"]["params"]
    assert (params["total"], params["round"]) == (88, 2)
    assert params["total_label"]["key"] == "note.submitted.total.adjusted"
    assert c1.account not in resubmitted.accounts


async def test_a_resubmission_whose_coordinator_was_revoked_goes_to_the_ward(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        c1, c2 = await coordinator(uow, "c1"), await coordinator(uow, "c2")
        citizen = await citizen_of(uow)
        declaration = await answered(uow, citizen)
        await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
        first = await uow.declarations.get(declaration.id)
        assert first is not None
        decider = Decider(c2.account, c2.id, t("note.by", name="Cán bộ c2"))
        await return_for_more(uow, first, [5], "Thêm minh chứng", decider, NOW)
        assert await uow.staff.revoke(c2.id, NOW)
        await uow.outbox.erase(citizen.id, [])
        resubmitted = await submit(uow, citizen, declaration.id, CRITERIA, ALL_NINE, NOW)
    assert resubmitted.resubmitted and resubmitted.accounts == (c1.account,)

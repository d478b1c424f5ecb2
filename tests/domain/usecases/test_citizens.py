"""A citizen's record without a conversation: registering keeps the consents given on the way
as evidence, correcting records each field changed, and /link binds a second account and tells
the first; on SQLite, and on PostgreSQL when CDHT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.consents import GUARDIAN, REGISTRATION, SHARING, STATISTICS
from bot.domain.usecases.citizens import Agreement, correct_profile, register
from bot.domain.usecases.linking import issue_link_code, use_link_code
from storage import SqlStore
from tests.storage.test_repositories import new_citizen

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
AGREED = NOW - timedelta(minutes=5)  # the consents were given before the summary was confirmed


async def test_register_keeps_the_citizen_the_account_and_each_consent_given(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        account = await uow.identities.create("telegram", "42", "vi")
        agreement = Agreement("2026-01", AGREED, (REGISTRATION, STATISTICS))
        citizen = await register(uow, account.id, new_citizen(), agreement, NOW)
    async with store.transaction() as uow:
        stored = await uow.citizens.get(citizen.id)
        assert stored is not None
        assert (stored.full_name, stored.ward_code, stored.channel) == (
            "Nguyễn Văn Cừ",
            "11383",
            "telegram",
        )
        (bound,) = await uow.identities.for_citizen(citizen.id)
        assert (bound.channel, bound.external_id) == ("telegram", "42")
        consents = await uow.consents.for_citizen(citizen.id)
        # one record per purpose, as given: each can be withdrawn on its own
        assert sorted(
            (
                c.purposes,
                c.notice_version,
                c.accepted_at,
                c.channel,
                c.withdrawn_at,
                c.guardian_name,
            )
            for c in consents
        ) == sorted(
            [
                ((REGISTRATION,), "2026-01", AGREED, "telegram", None, None),
                ((STATISTICS,), "2026-01", AGREED, "telegram", None, None),
            ]
        )
        assert await uow.citizens.changes(citizen.id) == []


async def test_register_of_a_child_names_the_guardian_in_each_consent_and_their_own(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        account = await uow.identities.create("zalo", "7", "vi")
        agreement = Agreement(
            "2026-01", AGREED, (REGISTRATION, SHARING), guardian_name="Trần Thị Mai",
            guardian_relation="mother",
        )  # fmt: skip
        child = new_citizen(birth_year=2014, guardian_consent=True, channel="zalo")
        citizen = await register(uow, account.id, child, agreement, NOW)
    async with store.transaction() as uow:
        consents = await uow.consents.for_citizen(citizen.id)
    assert sorted(
        (c.purposes, c.guardian_name, c.guardian_relation, c.channel) for c in consents
    ) == [
        ((GUARDIAN,), "Trần Thị Mai", "mother", "zalo"),
        ((REGISTRATION,), "Trần Thị Mai", "mother", "zalo"),
        ((SHARING,), "Trần Thị Mai", "mother", "zalo"),
    ]


async def test_correct_profile_records_each_field_changed_by_the_account(
    store: SqlStore,
) -> None:
    async with store.transaction() as uow:
        account = await uow.identities.create("telegram", "42", "vi")
        agreement = Agreement("2026-01", AGREED, (REGISTRATION,))
        citizen = await register(uow, account.id, new_citizen(), agreement, AGREED)
    later = NOW + timedelta(days=3)
    # the channel registered on stays whatever the details say; the locale is not compared
    details = replace(
        new_citizen(), full_name="Nguyễn Văn Cường", group=2, workplace="Cảng Hải Phòng",
        channel="zalo",
    )  # fmt: skip
    async with store.transaction() as uow:
        updated = await correct_profile(uow, citizen, details, "zalo:99", later)
    assert (updated.full_name, updated.group, updated.channel) == (
        "Nguyễn Văn Cường",
        2,
        "telegram",
    )
    async with store.transaction() as uow:
        stored = await uow.citizens.get(citizen.id)
        changes = await uow.citizens.changes(citizen.id)
    assert stored == updated
    assert sorted((c.field, c.old_value, c.new_value, c.actor, c.changed_at) for c in changes) == [
        ("full_name", "Nguyễn Văn Cừ", "Nguyễn Văn Cường", "zalo:99", later),
        ("group", "1", "2", "zalo:99", later),
        ("workplace", None, "Cảng Hải Phòng", "zalo:99", later),
    ]


async def test_correct_profile_with_nothing_changed_writes_nothing(store: SqlStore) -> None:
    async with store.transaction() as uow:
        account = await uow.identities.create("telegram", "42", "vi")
        agreement = Agreement("2026-01", AGREED, (REGISTRATION,))
        citizen = await register(uow, account.id, new_citizen(), agreement, AGREED)
    same = new_citizen(locale="en", ward_data_version="another-version")  # not the citizen's data
    async with store.transaction() as uow:
        assert await correct_profile(uow, citizen, same, "telegram:42", NOW) is citizen
    async with store.transaction() as uow:
        assert await uow.citizens.changes(citizen.id) == []
        assert await uow.citizens.get(citizen.id) == citizen


async def test_a_link_code_binds_the_second_account_and_tells_the_first(store: SqlStore) -> None:
    async with store.transaction() as uow:
        first = await uow.identities.create("telegram", "42", "vi")
        agreement = Agreement("2026-01", AGREED, (REGISTRATION,))
        citizen = await register(uow, first.id, new_citizen(), agreement, AGREED)
        code = await issue_link_code(uow, citizen, "telegram:42", NOW)
        second = await uow.identities.create("zalo", "77", "vi")
    async with store.transaction() as uow:
        linked = await use_link_code(uow, second, code, NOW)
    assert linked.citizen is not None and linked.citizen.id == citizen.id
    async with store.transaction() as uow:
        accounts = {
            (i.channel, i.external_id) for i in await uow.identities.for_citizen(citizen.id)
        }
        (told,) = await uow.outbox.due("telegram", NOW, 10)
        assert await uow.outbox.due("zalo", NOW, 10) == []  # the account linking is answered
        again = await use_link_code(uow, await uow.identities.create("zalo", "78", None), code, NOW)
    assert accounts == {("telegram", "42"), ("zalo", "77")}
    assert told.message.external_id == "42"
    assert told.message.subject_id == citizen.id  # erased with the citizen
    assert told.message.payload["text"] == {
        "key": "link.notice",
        "params": {"channel": {"key": "channel.zalo", "params": {}}},
    }
    assert (again.citizen, again.problem) == (None, "unknown")  # a code is single-use

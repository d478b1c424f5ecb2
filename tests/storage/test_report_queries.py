"""Every read the reports, lists, exports, dashboards, queues, broadcast reports and citizen
pages make of the storage layer, run on SQLite and on PostgreSQL (``any_app``: PostgreSQL when
CDHT_TEST_POSTGRES_URL is set) against one seeded city whose answers are known, so that a
query only one backend accepts, or that means something else on the other, fails here
(issue 18, item 1: the broadcast report's GROUP BY that only SQLite accepted).

The city: seven citizens in three wards, with declarations in every state, consents given and
withdrawn, accounts on three channels (one opted out, one unreachable), a broadcast whose
messages met every outcome, reminders, corrections and decisions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.domain.consents import PURPOSES, REGISTRATION, SHARING, STATISTICS
from bot.domain.records import DeclarationEvent, EvidenceFile, NewCitizen
from bot.domain.usecases.broadcasts import audience, create_broadcast
from bot.domain.usecases.notices import text_message
from bot.engine import t
from bot.services.schedule import START_KEY

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
LE_CHAN, HONG_BANG, NGO_QUYEN = "11383", "11311", "11329"
BASE = NewCitizen(
    full_name="", birth_year=1970, gender="female", phone="", group=1, ward_code=LE_CHAN,
    ward_name="Phường Lê Chân", ward_data_version="test", residential_group="Tổ 5",
    workplace=None, guardian_consent=None, channel="telegram", locale="vi",
)  # fmt: skip


@dataclass
class City:
    """The seeded ids, by the citizen's given name."""

    citizens: dict[str, int]
    declarations: dict[str, int]  # this year's (2026)
    last_year: int  # Đạt's 2025 declaration
    broadcast: int


# name, ward, group, phone, purposes agreed, statistics withdrawn later, this year's status,
# days since submitted, account (channel, id, locale)
PEOPLE = [
    ("Đỗ Thị Ánh", LE_CHAN, 1, "+84912000001", PURPOSES, False, "submitted", 10,
     ("telegram", "101", None)),
    ("Nguyễn Văn Cừ", LE_CHAN, 1, "+84912000002", PURPOSES, False, "recognised", 20,
     ("telegram", "102", None)),
    ("Trần Thị Lan", LE_CHAN, 3, "+84983000003", (REGISTRATION, SHARING), False, "draft", None,
     ("zalo", "z103", None)),
    ("Lê Văn Ất", HONG_BANG, 1, "+84912000004", PURPOSES, True, "returned", 5,
     ("telegram", "104", None)),
    ("Phạm Thị Ước", HONG_BANG, 2, "+84912000005", PURPOSES, False, None, None,
     ("telegram", "105", None)),
    ("Vũ Văn Đạt", NGO_QUYEN, 1, "+84912000006", PURPOSES, False, "submitted", 2,
     ("telegram", "106", "en")),
    ("Hoàng Thị Mai", NGO_QUYEN, 4, "+84912000007", PURPOSES, False, "not_recognised", 30,
     ("console", "107", None)),
]  # fmt: skip


def given(name: str) -> str:
    return name.split()[-1]


async def seed(app: App) -> City:
    ids: dict[str, int] = {}
    declared: dict[str, int] = {}
    last_year = 0
    async with app.store.transaction() as uow:
        for n, row in enumerate(PEOPLE):
            name, ward, group, phone, purposes, withdrawn, status, days, account = row
            person = replace(BASE, full_name=name, ward_code=ward, group=group, phone=phone)
            citizen = await uow.citizens.create(person, NOW - timedelta(days=40 - n))
            ids[given(name)] = citizen.id
            for purpose in purposes:
                await uow.consents.record(citizen.id, "test", [purpose], NOW, account[0])
            if withdrawn:
                await uow.consents.withdraw(citizen.id, STATISTICS, NOW)
            identity = await uow.identities.create(account[0], account[1], account[2])
            await uow.identities.bind(identity.id, citizen.id)
            if status is None:
                continue
            declaration = await uow.declarations.create(citizen.id, 2026, "qd324-2023", NOW)
            declared[given(name)] = declaration.id
            for indicator in range(1, 11):
                score = indicator if status == "draft" and indicator <= 3 else None
                await uow.declarations.set_score(
                    declaration.id, indicator, score if status == "draft" else 8, NOW
                )
            if status != "draft":
                await uow.declarations.update(
                    declaration.id, NOW, status=status,
                    submitted_at=NOW - timedelta(days=days or 0),
                )  # fmt: skip
        # Cừ was recognised with indicator 5 verified at 4 (the digital target needs 5)
        await uow.declarations.set_verified(declared["Cừ"], 5, 4, "chưa có chứng chỉ")
        # Đạt was recognised last year too
        old = await uow.declarations.create(ids["Đạt"], 2025, "qd324-2023", NOW)
        last_year = old.id
        for indicator in range(1, 11):
            await uow.declarations.set_score(old.id, indicator, 9, NOW)
        await uow.declarations.update(old.id, NOW, status="recognised")
        # Lan's draft was left alone three days ago; Ánh sent two photos for indicator 3
        await uow.declarations.update(declared["Lan"], NOW - timedelta(days=3))
        for n in (1, 2):
            await uow.declarations.add_evidence(
                EvidenceFile(declared["Ánh"], 3, "photo", "image/jpeg", 10, f"{n:064x}", None,
                             "telegram", f"file-{n}"),
                NOW,
            )  # fmt: skip
        for declaration_id, to_status in ((declared["Cừ"], "recognised"),
                                           (declared["Ất"], "returned")):  # fmt: skip
            await uow.declarations.add_event(
                DeclarationEvent(declaration_id, "telegram:900", "submitted", to_status, None,
                                 None, 1, NOW)
            )  # fmt: skip
        await uow.citizens.record_changes(
            ids["Ánh"], [("phone", "+84912999999", "+84912000001")], "citizen", NOW
        )
        # the accounts the campaign cannot write to: Ất said /stop, Ước blocked the bot
        stopped = await uow.identities.get("telegram", "104")
        assert stopped is not None
        await uow.identities.set_opt_out(stopped.id, NOW)
        await uow.identities.mark_unreachable("telegram", "105", NOW)
    async with app.store.transaction() as uow:
        sent = await create_broadcast(uow, "Ngày hội học tập", audience(), "telegram:900", NOW)
    return City(ids, declared, last_year, sent.id)


def names(people: object) -> list[str]:
    return [p.full_name for p in people]  # type: ignore[attr-defined]


# -- citizens: lists, counts, pages, search -------------------------------------------------


async def test_citizen_lists_counts_and_pages(any_app: App) -> None:
    city = await seed(any_app)
    everyone = [row[0] for row in PEOPLE]
    async with any_app.store.transaction() as uow:
        assert names(await uow.citizens.list()) == everyone  # by id
        assert names(await uow.citizens.list(LE_CHAN)) == everyone[:3]
        assert names(await uow.citizens.list({LE_CHAN, NGO_QUYEN})) == everyone[:3] + everyone[5:]
        assert await uow.citizens.count() == 7
        assert await uow.citizens.count({HONG_BANG}) == 2
        assert await uow.citizens.count({"99999"}) == 0
        first = await uow.citizens.page(None, 0, 3)
        assert names(first) == everyone[:3]
        assert names(await uow.citizens.page(None, first[-1].id, 3)) == everyone[3:6]
        assert names(await uow.citizens.page({HONG_BANG}, 0, 10)) == everyone[3:5]
        # the ward office's «not started» list: no declaration this year, by ward then id
        assert names(await uow.citizens.without_declaration(2026)) == ["Phạm Thị Ước"]
        assert names(await uow.citizens.without_declaration(2026, {LE_CHAN})) == []
        assert names(await uow.citizens.without_declaration(2025, {NGO_QUYEN, HONG_BANG})) == [
            "Lê Văn Ất", "Phạm Thị Ước", "Hoàng Thị Mai",
        ]  # fmt: skip
    # the start reminder: registered before the cut-off, nothing declared, not reminded yet
    async with any_app.store.transaction() as uow:
        due = await uow.citizens.not_started(2026, NOW, START_KEY)
        assert names(due) == ["Phạm Thị Ước"]
        assert await uow.citizens.not_started(2026, NOW - timedelta(days=60), START_KEY) == []
        reminder = text_message(
            "telegram", "105", t("note.reminder.start", name="x", year=2026),
            dedupe_key=f"{START_KEY}{city.citizens['Ước']}:2026:telegram:105", kind="reminder",
        )  # fmt: skip
        assert await uow.outbox.enqueue(reminder, NOW)
    async with any_app.store.transaction() as uow:
        assert await uow.citizens.not_started(2026, NOW, START_KEY) == []  # once


async def test_the_citizen_search_matches_names_in_any_case_and_phones_in_part(
    any_app: App,
) -> None:
    """Staff type a name as they remember it: «đỗ», «ĐỖ THỊ», «ánh» find «Đỗ Thị Ánh» on both
    backends (SQLite's lower() left «Đ» and «Á» as they were: nothing was found there)."""
    await seed(any_app)
    async with any_app.store.transaction() as uow:
        search = uow.citizens.search
        for typed in ("đỗ", "Đỗ", "ĐỖ THỊ", "ánh", "  thị   ánh ", "Ỗ T"):
            assert names(await search(typed, None)) == ["Đỗ Thị Ánh"], typed
        assert names(await search("văn", None)) == ["Lê Văn Ất", "Nguyễn Văn Cừ", "Vũ Văn Đạt"]
        assert names(await search("THỊ", None, limit=2)) == ["Hoàng Thị Mai", "Phạm Thị Ước"]
        assert names(await search("thị", {LE_CHAN})) == ["Trần Thị Lan", "Đỗ Thị Ánh"]
        assert names(await search("ất", {LE_CHAN})) == []  # Lê Văn Ất is Hồng Bàng's
        # a phone number typed in part, in national form or international
        assert names(await search("0983 000", None)) == ["Trần Thị Lan"]
        assert names(await search("+8491200000", {HONG_BANG})) == ["Lê Văn Ất", "Phạm Thị Ước"]
        # the pattern characters of either backend are only what they are
        for typed in ("%", "_", "*", "?", "[", ".*", "\\"):
            assert await search(typed, None) == [], typed
        assert await search("van", None) == []  # letters match with their marks


# -- statistics: the report and the dashboard ---------------------------------------------


async def test_statistics_count_only_who_agreed_unless_asked_for_everyone(any_app: App) -> None:
    await seed(any_app)
    async with any_app.store.transaction() as uow:
        # Lan never agreed to statistics; Ất withdrew
        assert sorted(await uow.citizens.counts_by_unit()) == [
            (HONG_BANG, 2, 1), (NGO_QUYEN, 1, 1), (NGO_QUYEN, 4, 1), (LE_CHAN, 1, 2),
        ]  # fmt: skip
        assert sorted(await uow.citizens.counts_by_unit(purpose=None)) == [
            (HONG_BANG, 1, 1), (HONG_BANG, 2, 1), (NGO_QUYEN, 1, 1), (NGO_QUYEN, 4, 1),
            (LE_CHAN, 1, 2), (LE_CHAN, 3, 1),
        ]  # fmt: skip
        assert sorted(await uow.citizens.counts_by_unit({HONG_BANG}, purpose=None)) == [
            (HONG_BANG, 1, 1), (HONG_BANG, 2, 1),
        ]  # fmt: skip
        assert sorted(await uow.declarations.counts_by_unit(2026, None)) == [
            (NGO_QUYEN, 1, "submitted", 1), (NGO_QUYEN, 4, "not_recognised", 1),
            (LE_CHAN, 1, "recognised", 1), (LE_CHAN, 1, "submitted", 1),
        ]  # fmt: skip
        assert sorted(await uow.declarations.counts_by_unit(2026, {LE_CHAN}, purpose=None)) == [
            (LE_CHAN, 1, "recognised", 1), (LE_CHAN, 1, "submitted", 1),
            (LE_CHAN, 3, "draft", 1),
        ]  # fmt: skip
        assert await uow.declarations.counts_by_unit(2025, None) == [
            (NGO_QUYEN, 1, "recognised", 1)
        ]
        # every declaration, consent or not (the ward's own overview)
        assert await uow.declarations.status_counts(2026, None) == {
            "submitted": 2, "recognised": 1, "draft": 1, "returned": 1, "not_recognised": 1,
        }  # fmt: skip
        assert await uow.declarations.status_counts(2026, {HONG_BANG}) == {"returned": 1}
        assert await uow.declarations.status_counts(2024, None) == {}
        # the digital target: recognised with indicator 5 at 5 or more (Cừ's was verified at 4)
        assert await uow.declarations.recognised_with(2026, None, 5, 5) == {}
        assert await uow.declarations.recognised_with(2026, None, 5, 4) == {LE_CHAN: 1}
        assert await uow.declarations.recognised_with(2026, None, 1, 8) == {LE_CHAN: 1}
        assert await uow.declarations.recognised_with(2025, {NGO_QUYEN}, 1, 9) == {NGO_QUYEN: 1}
        assert await uow.declarations.recognised_with(2025, {LE_CHAN}, 1, 9) == {}


# -- queues and the ward office's lists ----------------------------------------------------


async def test_the_review_queue_and_the_lists_by_status(any_app: App) -> None:
    city = await seed(any_app)
    async with any_app.store.transaction() as uow:
        # oldest submission first; a coordinator's wards only
        queue = await uow.declarations.pending(None)
        assert [(d.id, c.full_name) for d, c in queue] == [
            (city.declarations["Ánh"], "Đỗ Thị Ánh"), (city.declarations["Đạt"], "Vũ Văn Đạt"),
        ]  # fmt: skip
        assert [c.full_name for _, c in await uow.declarations.pending(frozenset({LE_CHAN}))] == [
            "Đỗ Thị Ánh"
        ]
        assert await uow.declarations.pending(frozenset({HONG_BANG})) == []
        decided = await uow.declarations.with_status(("recognised", "not_recognised"), None)
        assert [c.full_name for _, c in decided] == [
            "Hoàng Thị Mai",
            "Nguyễn Văn Cừ",
            "Vũ Văn Đạt",
        ]  # by submission: 30 days ago, 20 days ago, never (last year's, unsubmitted)
        this_year = await uow.declarations.with_status(("recognised",), None, year=2026)
        assert [(d.year, c.full_name) for d, c in this_year] == [(2026, "Nguyễn Văn Cừ")]
        waiting = await uow.declarations.with_status(
            ("submitted",), None, submitted_before=NOW - timedelta(days=7)
        )
        assert [c.full_name for _, c in waiting] == ["Đỗ Thị Ánh"]  # waiting over 7 days
        returned = await uow.declarations.with_status(("returned",), {HONG_BANG}, 2026)
        assert [(d.status, c.ward_code) for d, c in returned] == [("returned", HONG_BANG)]
        # drafts left alone for reminders: Lan's, touched 3 days ago, 3 indicators scored
        idle = await uow.declarations.idle_drafts(
            2026, NOW - timedelta(days=2), NOW - timedelta(days=9)
        )
        assert [(d.id, scored) for d, scored in idle] == [(city.declarations["Lan"], 3)]
        assert (
            await uow.declarations.idle_drafts(
                2026, NOW - timedelta(days=4), NOW - timedelta(days=9)
            )
            == []
        )
        # who hears of a ward's declarations: its coordinators; the admins of the city
        coordinator = await uow.staff.redeem(
            "telegram", "900", "coordinator", [LE_CHAN], "test", NOW
        )
        admin = await uow.staff.redeem("telegram", "901", "admin", [], "test", NOW)
    async with any_app.store.transaction() as uow:
        assert [m.id for m in await uow.staff.for_ward(LE_CHAN)] == [coordinator.id]
        assert await uow.staff.for_ward(HONG_BANG) == []
        assert [m.id for m in await uow.staff.admins()] == [admin.id]
        assert [(m.role, sorted(m.wards)) for m in await uow.staff.all()] == [
            ("coordinator", [LE_CHAN]), ("admin", []),
        ]  # fmt: skip


# -- exports --------------------------------------------------------------------------------


async def test_the_export_reads_declarations_answers_events_and_consents(any_app: App) -> None:
    city = await seed(any_app)
    ánh, cừ, đạt = (city.citizens[n] for n in ("Ánh", "Cừ", "Đạt"))
    async with any_app.store.transaction() as uow:
        every = await uow.declarations.list()
        assert len(every) == 7  # six this year, one last year
        assert [(d.citizen_id, d.year) for d in every if d.citizen_id == đạt] == [
            (đạt, 2025),
            (đạt, 2026),
        ]
        assert {d.year for d in await uow.declarations.list(2025)} == {2025}
        assert [d.id for d in await uow.declarations.list(2026, (ánh, cừ))] == [
            city.declarations["Ánh"],
            city.declarations["Cừ"],
        ]
        answers = await uow.declarations.answers_by_declaration(2026)
        assert set(answers) == set(city.declarations.values())
        mine = answers[city.declarations["Ánh"]]
        assert (mine[3].score, mine[3].evidence_count, mine[4].evidence_count) == (8, 2, 0)
        assert answers[city.declarations["Cừ"]][5].verified_score == 4
        assert answers[city.declarations["Lan"]][1].score == 1
        assert answers[city.declarations["Lan"]][4].score is None
        span = await uow.declarations.answers_by_declaration(citizen_ids=(đạt, đạt))
        assert set(span) == {city.last_year, city.declarations["Đạt"]}
        assert await uow.declarations.event_counts() == {
            city.declarations["Cừ"]: 1, city.declarations["Ất"]: 1,
        }  # fmt: skip
        assert await uow.declarations.event_counts((ánh, cừ)) == {city.declarations["Cừ"]: 1}
        latest = await uow.consents.latest_by_citizen()
        assert set(latest) == set(city.citizens.values())
        assert latest[city.citizens["Lan"]].purposes == (SHARING,)
        within = await uow.consents.latest_by_citizen((ánh, cừ))
        assert set(within) == {ánh, cừ}
        assert await uow.declarations.all_blobs() == {f"{1:064x}", f"{2:064x}"}


# -- a citizen's page ----------------------------------------------------------------------


async def test_a_citizens_page_reads_their_records_and_the_campaign_messages(
    any_app: App,
) -> None:
    city = await seed(any_app)
    ánh, đạt = city.citizens["Ánh"], city.citizens["Đạt"]
    async with any_app.store.transaction() as uow:
        assert [d.year for d in await uow.declarations.of_citizen(đạt)] == [2025, 2026]
        latest = await uow.declarations.latest(đạt)
        assert latest is not None and (latest.year, latest.status) == (2026, "submitted")
        assert await uow.declarations.latest(city.citizens["Ước"]) is None
        files = await uow.declarations.evidence(city.declarations["Ánh"])
        assert [(f.indicator, f.channel_file_id) for f in files] == [(3, "file-1"), (3, "file-2")]
        (event,) = await uow.declarations.events(city.declarations["Ất"])
        assert (event.from_status, event.to_status, event.actor) == (
            "submitted",
            "returned",
            "telegram:900",
        )
        (change,) = await uow.citizens.changes(ánh)
        assert (change.field, change.old_value, change.new_value) == (
            "phone",
            "+84912999999",
            "+84912000001",
        )
        consents = await uow.consents.for_citizen(city.citizens["Ất"])
        withdrawn = [c.purposes for c in consents if c.withdrawn_at is not None]
        assert withdrawn == [(STATISTICS,)]
        (account,) = await uow.identities.for_citizen(ánh)
        assert (account.channel, account.external_id) == ("telegram", "101")
        (message,) = await uow.broadcasts.received([("telegram", "101"), ("zalo", "nobody")])
        assert (message.broadcast_id, message.text, message.status) == (
            city.broadcast,
            "Ngày hội học tập",
            "pending",
        )
        assert await uow.broadcasts.received([]) == []
        assert await uow.broadcasts.received([("telegram", "104")]) == []  # opted out


# -- broadcasts: audiences and the report --------------------------------------------------


async def test_a_broadcast_reaches_who_may_be_written_to_and_its_report_counts_each_outcome(
    any_app: App,
) -> None:
    """Ất opted out and Ước's account is unreachable: five recipients. Of them one was sent,
    one failed because the account blocked the bot (counted as blocked), one failed
    otherwise, one waits after a 429, and the last is cancelled with the broadcast."""
    city = await seed(any_app)
    async with any_app.store.transaction() as uow:
        found = await uow.broadcasts.get(city.broadcast)
        assert found is not None and (found.status, found.recipients) == ("queued", 5)
        assert await uow.broadcasts.count_audience(audience()) == 5
        assert await uow.broadcasts.count_audience(audience(wards=[HONG_BANG])) == 0
        assert await uow.broadcasts.count_audience(audience(status="not_started", year=2026)) == 0
        assert await uow.broadcasts.count_audience(audience(status="submitted", year=2026)) == 2
        assert await uow.broadcasts.count_audience(audience(status="in_progress", year=2026)) == 1
        assert await uow.broadcasts.count_audience(audience(locale="en")) == 1
        assert await uow.broadcasts.count_audience(audience(channel="zalo", group=3)) == 1
        # Ước writes to the bot again: the account is reachable, and in the audience, again
        blocked = await uow.identities.get("telegram", "105")
        assert blocked is not None and blocked.unreachable
        await uow.identities.set_unreachable(blocked.id, None)
        assert await uow.broadcasts.count_audience(audience(wards=[HONG_BANG])) == 1
        await uow.identities.set_unreachable(blocked.id, NOW)
        rows = {
            r.message.external_id: r.id
            for channel in ("telegram", "zalo", "console")
            for r in await uow.outbox.due(channel, NOW, 100)
        }
        assert sorted(rows) == ["101", "102", "106", "107", "z103"]
        await uow.outbox.mark_sent(rows["101"], NOW)
        await uow.outbox.fail(rows["102"], "Unreachable: Forbidden: bot was blocked by the user")
        await uow.outbox.fail(rows["106"], "Rejected: Bad Request: chat not found")
        await uow.outbox.postpone(rows["107"], NOW + timedelta(seconds=30), "RateLimited: 429")
    async with any_app.store.transaction() as uow:
        assert await uow.broadcasts.cancel(city.broadcast) == 2  # z103 and the postponed 107
        report = await uow.broadcasts.report(city.broadcast)
        assert report == {"sent": 1, "failed": 1, "blocked": 1, "pending": 0, "cancelled": 2}
        assert await uow.broadcasts.report(city.broadcast + 1) == dict.fromkeys(report, 0)
        assert (await uow.broadcasts.get(city.broadcast)).status == "cancelled"  # type: ignore[union-attr]
        assert await uow.outbox.counts() == {"sent": 1, "failed": 2, "cancelled": 2}


async def test_a_scheduled_broadcast_is_due_at_its_time(any_app: App) -> None:
    await seed(any_app)
    later = NOW + timedelta(hours=2)
    async with any_app.store.transaction() as uow:
        planned = await create_broadcast(uow, "Hẹn giờ", audience(), "cli", NOW, at=later)
        assert planned.status == "scheduled"
        assert [b.id for b in await uow.broadcasts.due(NOW)] == []
        assert [b.id for b in await uow.broadcasts.due(later)] == [planned.id]


async def test_the_outbox_queue_reads(any_app: App) -> None:
    """What the sender claims: a channel's due rows, notifications before campaign messages
    when asked, one account's rows, and the locale each is written in."""
    city = await seed(any_app)
    async with any_app.store.transaction() as uow:
        note = text_message("telegram", "101", t("optout.back"), citizen_id=city.citizens["Ánh"])
        await uow.outbox.enqueue(note, NOW)
    async with any_app.store.transaction() as uow:
        due = await uow.outbox.due("telegram", NOW, 100)
        assert [r.message.kind for r in due][:1] == ["notification"]  # priority first
        assert {r.message.external_id for r in due} == {"101", "102", "106"}
        quiet = await uow.outbox.due("telegram", NOW, 100, bulk=False)
        assert [(r.message.kind, r.message.external_id) for r in quiet] == [("notification", "101")]
        theirs = await uow.outbox.due("telegram", NOW, 100, external_id="106")
        assert [(r.message.kind, r.message.external_id) for r in theirs] == [("broadcast", "106")]
        assert await uow.outbox.due("telegram", NOW - timedelta(seconds=1), 100) == []
        locales = await uow.outbox.locales([r.id for r in due])
        assert sorted(locales.values()) == ["en", "vi", "vi", "vi"]
        assert await uow.outbox.counts() == {"pending": 6}
        # held back (a 429, quiet hours), then let go again
        later = NOW + timedelta(hours=1)
        await uow.outbox.reschedule([r.id for r in due], later)
        assert await uow.outbox.due("telegram", NOW, 100) == []
        assert len(await uow.outbox.due("telegram", later, 100)) == 4
        assert await uow.outbox.release("broadcast", NOW) == 3  # not the notification
        assert {r.message.kind for r in await uow.outbox.due("telegram", NOW, 100)} == {"broadcast"}


async def test_the_consoles_sign_in_links_and_sessions(any_app: App) -> None:
    """A link opens once and not after it expired; a session is found until it ends."""
    async with any_app.store.transaction() as uow:
        await uow.web.add_sign_in("link", "telegram:900", NOW, NOW + timedelta(minutes=10))
        await uow.web.add_sign_in("old", "telegram:900", NOW, NOW + timedelta(minutes=10))
    async with any_app.store.transaction() as uow:
        assert await uow.web.use_sign_in("link", NOW + timedelta(minutes=1)) == "telegram:900"
        assert await uow.web.use_sign_in("link", NOW + timedelta(minutes=2)) is None  # once
        assert await uow.web.use_sign_in("old", NOW + timedelta(minutes=11)) is None  # expired
        assert await uow.web.use_sign_in("unknown", NOW) is None
        await uow.web.add_session("session", "telegram:900", "csrf-token", NOW)
    async with any_app.store.transaction() as uow:
        found = await uow.web.session("session")
        assert found is not None
        assert (found.account, found.csrf, found.last_seen) == ("telegram:900", "csrf-token", NOW)
        await uow.web.touch("session", NOW + timedelta(hours=1))
    async with any_app.store.transaction() as uow:
        touched = await uow.web.session("session")
        assert touched is not None and touched.last_seen == NOW + timedelta(hours=1)
        assert touched.created_at == NOW
        await uow.web.end("session", NOW + timedelta(hours=2))
    async with any_app.store.transaction() as uow:
        assert await uow.web.session("session") is None
        assert await uow.web.session("never") is None

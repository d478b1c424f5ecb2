"""The Excel export says what the JSON export says (issue 17, item 4 and item 2's "export
columns agree"): a realistic set of citizens and declarations, decided through the same use
cases as the chat and the web console, on each storage backend; every column of every row of
the workbook is read back with openpyxl and compared, by its header, with the JSON export of
the same citizens (``export_records`` / ``render_json``, the machine format). The workbook
shows words where the JSON keeps machine values; the table of expected words below is what a
ward office reads."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import openpyxl
import pytest

from bot.app import App
from bot.domain.consents import PURPOSES
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration, EvidenceFile, NewCitizen
from bot.domain.usecases.decisions import (
    Decider,
    adjust,
    approve,
    reject,
    return_for_more,
    signature_of,
)
from bot.domain.usecases.decisions import verified_scores as decision_scores
from bot.domain.usecases.notices import change_status
from bot.domain.wards import WardDirectory
from bot.i18n import Translator
from bot.services.export import export_records, record_pages, render_json
from bot.services.report import Targets, build_report
from bot.services.spreadsheet import decision_word, export_workbook

LE_CHAN, NGO_QUYEN = "11383", "11329"
NOW = datetime(2026, 6, 1, 3, 7, 42, tzinfo=UTC)
VN = timezone(timedelta(hours=7))
YEAR = 2026

# the words a ward office reads for the JSON's machine values
GENDER = {"female": "Nữ", "male": "Nam", "other": "Khác", None: None}
GROUP = {
    1: "Người dân ở phường/xã",
    2: "Người lao động",
    3: "Cán bộ, công nhân viên, doanh nhân",
    4: "Học sinh, sinh viên, học viên",
}
WARD = {LE_CHAN: "Phường Lê Chân", NGO_QUYEN: "Phường Ngô Quyền"}
CHANNEL = {"telegram": "Telegram", "zalo": "Zalo", "console": "Kênh chạy thử trên máy"}
STATUS = {
    "draft": "Đang tự đánh giá",
    "submitted": "Chờ duyệt",
    "returned": "Trả lại để bổ sung",
    "recognised": "Xác nhận đạt, đề nghị công nhận",
    "not_recognised": "Không đề nghị công nhận",
    None: None,
}
RESULT = {
    "recognised": "Đạt",
    "not_recognised": "Chưa đạt",
    "incomplete": "Chưa chấm đủ",
    None: None,
}
# (decision, status) as the JSON has them -> what the decision column says: an approval
# records the result its scores give (bot/flows/decisions.py approve), a rejection
# not_recognised, a return no decision at all
DECISION = {
    ("approved", "recognised"): "Xác nhận: đạt",
    ("approved", "not_recognised"): "Xác nhận: chưa đạt",
    ("rejected", "not_recognised"): "Từ chối",
    (None, "returned"): "Trả lại để bổ sung",
}
PHONE = {"+84912345678": "0912 345 678", "+842253841234": "0225 3841 234"}  # as dialled


def local(value: str | None) -> datetime | None:
    """An ISO time of the JSON as the workbook shows it: Viet Nam's wall clock, to the minute."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value).astimezone(VN)
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def staff_shown(record: dict[str, Any]) -> str | None:
    """The deciding coordinator: the name they gave, else their account in words."""
    if record["decided_by"] is None:
        return None
    if record["decided_by_name"] != record["decided_by"]:
        return str(record["decided_by_name"])
    channel = str(record["decided_by"]).partition(":")[0]
    return f"Chưa ghi tên ({CHANNEL[channel]})"  # the channel, never the account id


def expected_columns(indicators: range) -> dict[str, Callable[[dict[str, Any]], object]]:
    """Each header of the workbook and how its cell follows from the JSON record. Every
    column has a JSON counterpart; the JSON has more (``ward_data_version``, ``updated_at``,
    ``locale``, consent and audit fields), which a ward office does not file."""
    columns: dict[str, Callable[[dict[str, Any]], object]] = {
        "Mã": lambda r: r["id"],
        "Họ và tên": lambda r: r["full_name"],
        "Năm sinh": lambda r: r["birth_year"],
        "Giới tính": lambda r: GENDER[r["gender"]],
        "Số điện thoại": lambda r: PHONE[r["phone"]],
        "Đối tượng": lambda r: GROUP[r["group"]],
        "Phường/xã": lambda r: WARD[r["ward_code"]],
        "Tổ dân phố/thôn": lambda r: r["residential_group"],
        "Nơi làm việc/học tập": lambda r: r["workplace"],
        "Kênh": lambda r: CHANNEL[r["channel"]],
        "Ngày đăng ký": lambda r: local(r["registered_at"]),
        "Năm đánh giá": lambda r: r["year"],
        "Trạng thái": lambda r: STATUS[r["declaration_status"]],
        "Ngày nộp": lambda r: local(r["submitted_at"]),
        "Tổng điểm tự chấm": lambda r: r["total"],
        "Kết quả tạm tính": lambda r: RESULT[r["provisional_result"]],
        "Tổng điểm xác nhận": lambda r: r["verified_total"],
        "Quyết định": lambda r: DECISION.get((r["decision"], r["declaration_status"])),
        "Cán bộ duyệt": staff_shown,
        "Ngày duyệt": lambda r: local(r["decided_at"]),
        "Lý do": lambda r: r["decision_reason"],
        "Số minh chứng": lambda r: r["evidence_count"],
    }
    for i in indicators:
        columns[f"TC{i} tự chấm"] = score_of("scores", i)
        columns[f"TC{i} xác nhận"] = score_of("verified_scores", i)
    return columns


def score_of(field: str, indicator: int) -> Callable[[dict[str, Any]], object]:
    """One indicator's score in the JSON's ``scores`` or ``verified_scores`` ({"1": 8, …})."""
    return lambda record: (record[field] or {}).get(str(indicator))


def citizen(name: str, ward: str, group: int, gender: str | None, channel: str) -> NewCitizen:
    return NewCitizen(
        full_name=name, birth_year=1950 + group * 10, gender=gender,
        phone="+842253841234" if group == 3 else "+84912345678", group=group, ward_code=ward,
        ward_name=WARD[ward], ward_data_version="test",
        residential_group="=1+1" if group == 4 else f"Tổ dân phố số {group}",
        workplace=None if group == 1 else "Công ty Cổ phần Cảng Hải Phòng",
        guardian_consent=None, channel=channel, locale="vi",
    )  # fmt: skip


async def declared(
    uow: UnitOfWork, person: Citizen, scores: dict[int, int], year: int = YEAR
) -> Declaration:
    found = await uow.declarations.create(person.id, year, "qd324-2023", NOW)
    for indicator, score in scores.items():
        await uow.declarations.set_score(found.id, indicator, score, NOW)
    return found


async def submit(uow: UnitOfWork, declaration: Declaration, when: datetime) -> Declaration:
    """As the citizen's «Nộp để xác nhận» records it (bot/flows/declaration.py _submit)."""
    await change_status(uow, declaration, "citizen", "submitted", when, submitted_at=when)
    fresh = await uow.declarations.get(declaration.id)
    assert fresh is not None
    return fresh


async def decider(uow: UnitOfWork, channel: str, user: str, name: str | None) -> Decider:
    member = await uow.staff.redeem(channel, user, "coordinator", [LE_CHAN, NGO_QUYEN], "t", NOW)
    if name is not None:
        await uow.staff.set_profile(member.id, name, "+84912111222")
    return Decider(member.account, member.id, await signature_of(uow, channel, user))


async def seed(app: App) -> None:
    """Nine citizens in two wards, on three channels, in every state a declaration reaches:
    a draft (with a description and a file as evidence), one waiting, one returned after an
    adjustment, one approved and recognised, one approved but not recognised because the
    coordinator adjusted an indicator below 5, one rejected by a coordinator who gave no name,
    one recognised last year and declaring again, and one who never declared."""
    criteria = app.services.criteria["qd324-2023"]
    full = dict.fromkeys(range(1, 11), 9)
    async with app.store.transaction() as uow:
        named = await decider(uow, "telegram", "7001", "Nguyễn Văn An, Hội Khuyến học")
        unnamed = await decider(uow, "zalo", "zl-9001", None)
        people = [
            await uow.citizens.create(citizen(*plan), NOW + timedelta(minutes=n))
            for n, plan in enumerate(
                [
                    ("Trần Thị Lan", LE_CHAN, 1, "female", "zalo"),
                    ("Nguyễn Văn Bình", LE_CHAN, 2, "male", "telegram"),
                    ("Phạm Minh Khôi", LE_CHAN, 4, None, "console"),
                    ("Lê Thị Hoa", LE_CHAN, 3, "female", "telegram"),
                    ("Đỗ Văn Dũng", NGO_QUYEN, 1, "male", "zalo"),
                    ("Vũ Thị Mai", NGO_QUYEN, 2, "other", "telegram"),
                    ("Hoàng Văn Nam", NGO_QUYEN, 3, "male", "telegram"),
                    ("Bùi Thị Ánh", LE_CHAN, 1, "female", "zalo"),
                    ("Đinh Công Tráng", NGO_QUYEN, 1, "male", "console"),
                ]
            )
        ]
        for person in people:
            for purpose in PURPOSES:
                await uow.consents.record(person.id, "v1", [purpose], NOW, person.channel)
        lan, binh, khoi, hoa, dung, mai, nam, anh, _never = people

        draft = await declared(uow, lan, {1: 8, 2: 7, 3: 6})
        await uow.declarations.set_note(draft.id, 1, "Đọc báo Hải Phòng mỗi sáng", NOW)
        await uow.declarations.add_evidence(
            EvidenceFile(draft.id, 2, "photo", "image/jpeg", 1200, "ab" * 32, "k.jpg", "zalo", "f"),
            NOW,
        )

        await submit(uow, await declared(uow, binh, full), NOW + timedelta(days=1))

        returned = await submit(uow, await declared(uow, khoi, full), NOW + timedelta(days=2))
        await adjust(uow, returned, 3, 6, "Chưa có thẻ thư viện", 9, named, NOW)
        later = NOW + timedelta(days=3)
        await return_for_more(uow, returned, [3], "Xin ảnh thẻ thư viện", named, later)

        passed = await submit(uow, await declared(uow, hoa, full), NOW + timedelta(days=2))
        answers = await uow.declarations.answers(passed.id)
        await approve(uow, passed, criteria, decision_scores(answers), named, later)

        failed = await submit(uow, await declared(uow, dung, dict.fromkeys(range(1, 11), 8)), later)
        await adjust(uow, failed, 2, 4, "Chưa có kế hoạch học tập", 8, named, later)
        answers = await uow.declarations.answers(failed.id)
        await approve(uow, failed, criteria, decision_scores(answers), named, later)

        refused = await submit(uow, await declared(uow, mai, full), later)
        await reject(uow, refused, "Không cư trú tại phường", unnamed, later)

        last_year = await submit(uow, await declared(uow, nam, full, YEAR - 1), NOW)
        answers = await uow.declarations.answers(last_year.id)
        await approve(uow, last_year, criteria, decision_scores(answers), named, NOW)
        await declared(uow, nam, {1: 10})

        await submit(uow, await declared(uow, anh, full), later)  # a second one waiting


async def workbook_rows(app: App) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    criteria = app.services.criteria
    indicators = sorted({i.id for c in criteria.values() for i in c.indicators})
    async with app.store.transaction() as uow:
        report = await build_report(uow, app.wards, YEAR, None, Targets.load(), None)
    buffer = io.BytesIO()
    pages: AsyncIterator[list[dict[str, Any]]] = record_pages(app.store, criteria, page=4)
    count = await export_workbook(
        buffer, pages, report, indicators, app.wards, Translator("vi"), "vi"
    )
    rows = list(openpyxl.load_workbook(buffer)["Công dân"].iter_rows(values_only=True))
    assert count == len(rows) - 1
    return rows[0], rows[1:]


async def test_every_column_of_the_excel_export_agrees_with_the_json(any_app: App) -> None:
    await seed(any_app)
    records = json.loads(
        render_json(await export_records(any_app.store, any_app.services.criteria))
    )
    header, rows = await workbook_rows(any_app)
    columns = expected_columns(range(1, 11))
    assert sorted(header) == sorted(columns)  # no column without its JSON counterpart
    assert len(rows) == len(records) == 10  # nine citizens, one of them with two years
    for row, record in zip(rows, records, strict=True):
        for title, cell in zip(header, row, strict=True):
            assert cell == columns[title](record), (record["full_name"], record["year"], title)

    shown = {(row[1], row[header.index("Năm đánh giá")]): dict(zip(header, row, strict=True))
             for row in rows}  # fmt: skip
    # the verified total is filled wherever a coordinator decided (it was always empty)
    assert shown["Đỗ Văn Dũng", YEAR]["Tổng điểm xác nhận"] == 76
    assert shown["Đỗ Văn Dũng", YEAR]["TC2 xác nhận"] == 4
    assert shown["Lê Thị Hoa", YEAR]["Tổng điểm xác nhận"] == 90
    assert shown["Hoàng Văn Nam", YEAR - 1]["Tổng điểm xác nhận"] == 90
    # decision and status say the same thing
    assert (shown["Đỗ Văn Dũng", YEAR]["Trạng thái"], shown["Đỗ Văn Dũng", YEAR]["Quyết định"]) == (
        "Không đề nghị công nhận", "Xác nhận: chưa đạt"
    )  # fmt: skip
    assert shown["Lê Thị Hoa", YEAR]["Quyết định"] == "Xác nhận: đạt"
    assert shown["Vũ Thị Mai", YEAR]["Quyết định"] == "Từ chối"
    assert shown["Vũ Thị Mai", YEAR]["Cán bộ duyệt"] == "Chưa ghi tên (Zalo)"
    assert shown["Phạm Minh Khôi", YEAR]["Quyết định"] == "Trả lại để bổ sung"
    assert shown["Phạm Minh Khôi", YEAR]["Kênh"] == "Kênh chạy thử trên máy"
    assert shown["Phạm Minh Khôi", YEAR]["Tổ dân phố/thôn"] == "=1+1"  # text, not a formula
    assert shown["Trần Thị Lan", YEAR]["Số minh chứng"] == 2  # a description and a photo
    assert shown["Đinh Công Tráng", None]["Trạng thái"] is None  # never declared
    texts = [cell for row in rows for cell in row if isinstance(cell, str)]
    assert not [text for text in texts if text in ("console", "telegram", "zalo", "approved")]


# every status a declaration can have, with every decision field the export can carry
COMBINATIONS = [
    (decision, status)
    for decision in (None, "approved", "rejected")
    for status in ("draft", "submitted", "returned", "recognised", "not_recognised")
]
# what an approval, a rejection and a return record (bot/flows/decisions.py); undo clears the
# decision and the declaration waits again
RECORDED = {
    ("approved", "recognised"): "Xác nhận: đạt",
    ("approved", "not_recognised"): "Xác nhận: chưa đạt",
    ("rejected", "not_recognised"): "Từ chối",
    (None, "returned"): "Trả lại để bổ sung",
}
# a decision column word and the statuses it may stand beside
AGREES = {
    "Xác nhận: đạt": {"Xác nhận đạt, đề nghị công nhận"},
    "Xác nhận: chưa đạt": {"Không đề nghị công nhận"},
    "Từ chối": {"Không đề nghị công nhận"},
    "Trả lại để bổ sung": {"Trả lại để bổ sung"},
}


@pytest.mark.parametrize(("decision", "status"), COMBINATIONS)
async def test_the_decision_column_says_what_was_recorded(
    decision: str | None, status: str
) -> None:
    record = {"id": 1, "full_name": "Trần Thị Lan", "year": YEAR, "decision": decision,
              "declaration_status": status, "decided_by": "telegram:7001" if decision else None,
              "decided_by_name": "Nguyễn Văn An" if decision else None}  # fmt: skip

    async def pages() -> AsyncIterator[list[dict[str, Any]]]:
        yield [record]

    buffer = io.BytesIO()
    wards = WardDirectory.from_package(31)
    await export_workbook(buffer, pages(), None, [], wards, Translator("vi"), "vi")
    header, row = list(openpyxl.load_workbook(buffer).active.iter_rows(values_only=True))
    shown = dict(zip(header, row, strict=True))
    expected = RECORDED.get((decision, status))
    assert shown["Quyết định"] == expected
    if expected is not None:
        assert shown["Trạng thái"] in AGREES[expected]
        assert decision_word(decision, status) == WORD[expected]
    else:  # nothing recorded, or a pair no use case records: no word that could contradict
        assert decision_word(decision, status) is None


WORD = {
    "Xác nhận: đạt": "recognised",
    "Xác nhận: chưa đạt": "not_recognised",
    "Từ chối": "rejected",
    "Trả lại để bổ sung": "returned",
}

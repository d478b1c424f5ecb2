"""Reports against the national targets, Excel files read back with openpyxl, and the ward
office's lists, in the chat; counts checked on a seeded database with known answers, on both
storage backends. The report counts only citizens who agreed to statistics; the lists hold
everyone; both print as a ward office files them (title, unit, date, signatures, A4)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from bot.app import App
from bot.domain.consents import PURPOSES, REGISTRATION, SHARING, STATISTICS
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, NewCitizen
from bot.services.export import collect_records
from bot.services.lists import list_rows
from bot.services.report import Population, Targets, as_dict, build_report, render_table
from tests.chat import Chat, answer_until, register
from tests.conftest import make_settings, started_app
from tests.verification_helpers import RecordingDeliverer, coordinator, sender

LE_CHAN, NGO_QUYEN, AN_BIEN = "11383", "11329", "11407"
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def person(
    name: str, ward: str, group: int = 1, gender: str | None = "female", channel: str = "telegram"
) -> NewCitizen:
    return NewCitizen(
        full_name=name, birth_year=1970, gender=gender, phone="+84912345678", group=group,
        ward_code=ward, ward_name=ward, ward_data_version="test", residential_group="Tổ 5",
        workplace=None, guardian_consent=None, channel=channel, locale="vi",
    )  # fmt: skip


async def agreed(uow: UnitOfWork, citizen: Citizen, purposes: tuple[str, ...] = PURPOSES) -> None:
    """The consents a registration records: one record per purpose agreed to."""
    for purpose in purposes:
        await uow.consents.record(citizen.id, "test", [purpose], NOW, citizen.channel)


async def seed(uow: UnitOfWork) -> None:
    """Lê Chân: 6 registered (group 1 ×4, group 3 ×2); 1 draft, 1 pending, 1 returned, 2
    recognised (one of them group 3; one with indicator 5 at 4), 1 not started. Ngô Quyền: 2
    registered, 1 not recognised, 1 declaration of last year only. An Biên: nobody. Everyone
    agreed to the three purposes, statistics included."""
    plan = [
        (LE_CHAN, 1, "draft"), (LE_CHAN, 1, "submitted"), (LE_CHAN, 1, "returned"),
        (LE_CHAN, 1, "recognised"), (LE_CHAN, 3, "recognised"), (LE_CHAN, 3, None),
        (NGO_QUYEN, 1, "not_recognised"), (NGO_QUYEN, 2, "last-year"),
    ]  # fmt: skip
    for n, (ward, group, status) in enumerate(plan):
        citizen = await uow.citizens.create(person(f"Người {n}", ward, group), NOW)
        await agreed(uow, citizen)
        if status is None:
            continue
        year = 2025 if status == "last-year" else 2026
        declaration = await uow.declarations.create(citizen.id, year, "qd324-2023", NOW)
        for indicator in range(1, 11):
            await uow.declarations.set_score(declaration.id, indicator, 8, NOW)
        if status == "recognised" and group == 3:
            await uow.declarations.set_verified(declaration.id, 5, 4, "chưa có chứng chỉ")
        if status not in ("draft", "last-year"):
            await uow.declarations.update(
                declaration.id, NOW, status=status, submitted_at=NOW - timedelta(days=10)
            )


async def test_report_counts_per_unit_group_and_target(any_app: App, tmp_path: Path) -> None:
    async with any_app.store.transaction() as uow:
        await seed(uow)
    csv = tmp_path / "population.csv"
    csv.write_text(f'code,adults,staff\n{LE_CHAN},10,4\n{NGO_QUYEN},"1.000",\n', "utf-8")
    population = Population.from_csv(csv)
    async with any_app.store.transaction() as uow:
        report = await build_report(uow, any_app.wards, 2026, None, Targets.load(), population)
    figures = as_dict(report)
    assert figures["units"][LE_CHAN] == {
        "registered": 6, "declaring": 1, "submitted": 4, "pending": 1, "returned": 1,
        "recognised": 2, "not_recognised": 0,
    }  # fmt: skip
    assert figures["units"][NGO_QUYEN]["registered"] == 2
    assert figures["units"][NGO_QUYEN]["not_recognised"] == 1
    assert figures["units"][NGO_QUYEN]["declaring"] == 0  # last year's does not count
    assert figures["units"][AN_BIEN]["registered"] == 0  # every unit has a row
    assert len(report.units) == 114
    names = [unit.name for unit in report.units]  # Vietnamese order, not code points
    assert names.index("Phường Ái Quốc") < names.index("Phường An Biên")
    assert names.index("Phường Ái Quốc") < names.index("Phường Việt Hòa")
    assert names.index("Phường Bạch Đằng") < names.index("Phường Bắc An Phụ")  # a < ă
    assert names.index("Phường Chí Linh") < names.index("Phường Chu Văn An")
    assert names.index("Phường Dương Kinh") < names.index("Phường Đồ Sơn")  # d < đ
    assert report.area == "Thành phố Hải Phòng"
    assert figures["province"]["registered"] == 8
    assert figures["province"]["recognised"] == 2
    assert figures["by_group"][3]["recognised"] == 1
    assert figures["by_group"][2] == dict.fromkeys(figures["by_group"][2], 0) | {"registered": 1}
    targets = {row.id: row for row in report.targets}
    # adults: 40% by 2025 has passed; 2026 is measured against 60% by 2030
    assert (targets["adults"].milestone_year, targets["adults"].share) == (2030, 0.6)
    assert targets["adults"].missing == "adults"  # 112 units have no population figure
    assert targets["digital"].achieved == 1  # one of the two recognised scored 4 on indicator 5
    assert targets["digital"].achieved_share == 0.5
    table = render_table(report, lambda key, **p: any_app.translator("vi", key, **p))
    lines = table.splitlines()
    assert lines[0] == "Báo cáo Công dân học tập năm 2026"
    assert lines[1] == "Số liệu chỉ tính người đồng ý cho dùng dữ liệu để thống kê."
    header = next(line for line in lines if line.startswith("Đơn vị"))
    le_chan = next(line for line in lines if line.startswith("Phường Lê Chân"))
    assert len(header) == len(le_chan)  # aligned columns
    # a decimal comma in Vietnamese
    assert le_chan.split()[-8:] == ["6", "1", "4", "1", "1", "2", "0", "33,3%"]
    assert "chưa có số dân theo phường/xã để tính" in table
    assert "CDHT_" not in table  # officials read words, not the setting's name

    # one unit's report: its own total, and a population known for it
    async with any_app.store.transaction() as uow:
        mine = await build_report(uow, any_app.wards, 2026, {LE_CHAN}, Targets.load(), population)
    adults = next(row for row in mine.targets if row.id == "adults")
    assert (adults.base, adults.needed, adults.achieved) == (10, 6, 2)
    staff = next(row for row in mine.targets if row.id == "staff")
    assert (staff.base, staff.needed, staff.achieved) == (4, 4, 1)


async def test_report_queries_are_a_fixed_handful(app: App) -> None:
    """Three grouped queries whatever the number of citizens."""
    from sqlalchemy import event

    async with app.store.transaction() as uow:
        await seed(uow)
    counted: list[str] = []
    writer = app.store._writer  # SQLite's one connection
    assert writer is not None
    engine = writer.engine

    def count(*args: object) -> None:
        counted.append(str(args[2])[:40])

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(2):
            async with app.store.transaction() as uow:
                await build_report(uow, app.wards, 2026, None, Targets.load(), None)
            async with app.store.transaction() as uow:
                for n in range(30):
                    await uow.citizens.create(person(f"Thêm {n}", LE_CHAN), NOW)
            counted.clear() if _ == 0 else None
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [sql for sql in counted if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3, selects


def title_rows(sheet: Any) -> str:
    """The rows printed on every page, as "6:6" (openpyxl reads "$6:$6")."""
    return str(sheet.print_title_rows or "").replace("$", "")


def table(sheet: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """A printed sheet read back: the lines above the table (the first cell of each), the
    table (its header row, the one repeated on every page, then its rows up to the first empty
    one), and the non-empty cells after it (place and date, signature blocks)."""
    rows = list(sheet.iter_rows(values_only=True))
    first, last = (int(n) for n in title_rows(sheet).split(":"))
    assert first == last, "one header row is repeated"
    at = first - 1
    above = [row[0] for row in rows[:at] if row[0] is not None]
    end = next((n for n in range(at + 1, len(rows)) if not any(rows[n])), len(rows))
    after = [cell for row in rows[end:] for cell in row if cell is not None]
    return above, rows[at:end], after


def assert_printable(sheet: Any) -> None:
    """A4 landscape, one page wide (as many tall as needed), the header on every page."""
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)  # 9, A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    # ECMA-376 CT_PageSetup: fitToWidth and fitToHeight default to 1 when absent
    width, height = sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight
    assert (1 if width is None else int(width), 1 if height is None else int(height)) == (1, 0)
    assert title_rows(sheet)
    assert sheet.print_options.horizontalCentered


def _files(deliverer: RecordingDeliverer, user: str) -> list[openpyxl.Workbook]:
    found = []
    for sent in deliverer.to(user):
        if sent.file is not None and sent.file.name.endswith(".xlsx"):
            found.append(openpyxl.load_workbook(io.BytesIO(sent.file.path.read_bytes())))
    return found


async def test_a_coordinator_gets_the_report_with_its_excel_file(app: App) -> None:
    async with app.store.transaction() as uow:
        await seed(uow)
    coord = await coordinator(app, "coord")
    await coord.send("/report 2026")
    coord.expect(
        "Số liệu năm 2026, địa bàn Phường Lê Chân", "Đã đăng ký: 6",
        "Được xác nhận đạt, đề nghị công nhận: 2 (33,3%",
        "Chưa bắt đầu tự đánh giá: 1", "So với chỉ tiêu QĐ 677/QĐ-TTg",
        "Người trưởng thành được đề nghị công nhận: chỉ tiêu 60% đến năm 2030",
        "Số liệu chỉ tính người đồng ý cho dùng dữ liệu để thống kê.",
        "Báo cáo chi tiết (Excel) được gửi kèm",
    )  # fmt: skip
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (book,) = _files(deliverer, "coord")
    assert book.sheetnames == ["Theo phường, xã", "Theo đối tượng", "Chỉ tiêu QĐ 677", "Xét duyệt"]
    units = book["Theo phường, xã"]
    above, rows, after = table(units)
    assert above[:2] == ["BÁO CÁO CÔNG DÂN HỌC TẬP NĂM 2026", "Đơn vị: Phường Lê Chân"]
    assert re.fullmatch(r"Ngày lập: \d\d/\d\d/20\d\d", above[2])
    assert above[3] == "Số liệu chỉ tính người đồng ý cho dùng dữ liệu để thống kê."
    assert rows[0][:3] == ("Đơn vị", "Đã đăng ký", "Đang khai")
    assert rows[1][:8] == ("Phường Lê Chân", 6, 1, 4, 1, 1, 2, 0)
    assert rows[-1][0] == "Cộng"  # a coordinator's scope, not the province
    assert len(rows) == 3 and after == []  # header, the one ward, the total
    assert (title_rows(units), units.freeze_panes) == ("6:6", "B7")  # under the header
    for sheet in book.worksheets:
        assert_printable(sheet)
        assert table(sheet)[0][0] == "BÁO CÁO CÔNG DÂN HỌC TẬP NĂM 2026"
        assert sheet.oddFooter.center.text == "Trang &P/&N"
    targets = table(book["Chỉ tiêu QĐ 677"])[1]
    assert targets[1][4] == "Chưa có số dân để tính"  # no CDHT_POPULATION_CSV in a ward's file
    citizen = Chat(app.engine, user="nobody")
    await register(citizen)
    await citizen.send("/report")
    citizen.expect("chỉ dành cho cán bộ")


async def test_the_excel_export_reads_as_words_and_runs_no_formula(tmp_path: Path) -> None:
    app = await started_app(make_settings(tmp_path, admins="console:boss"))
    try:
        coord = await coordinator(app, "coord")
        attacker = Chat(app.engine, user="attacker")
        await answer_until(attacker, None, residential_group='=HYPERLINK("http://x.example")')
        elsewhere = Chat(app.engine, user="far")
        await answer_until(elsewhere, None, ward="ngo quyen", ward_pick="Phường Ngô Quyền")
        await coord.send("/export")
        coord.expect("Đang chuẩn bị tệp dữ liệu (1 dòng)")  # only the coordinator's ward
        deliverer = RecordingDeliverer()
        await sender(app, deliverer).flush()
        (book,) = _files(deliverer, "coord")
        sheet = book["Công dân"]
        rows = list(sheet.iter_rows(values_only=True))
        header = rows[0]
        assert header[:7] == (
            "Mã", "Họ và tên", "Năm sinh", "Giới tính", "Số điện thoại", "Đối tượng", "Phường/xã"
        )  # fmt: skip
        assert "TC1 tự chấm" in header and "TC10 xác nhận" in header
        record = dict(zip(header, rows[1], strict=True))
        assert record["Họ và tên"] == "Nguyễn Thị Hồng Nhung"
        assert record["Số điện thoại"] == "0912 345 678"  # text: the leading zero stays
        assert record["Đối tượng"] == "Người dân ở phường/xã"
        assert record["Phường/xã"] == "Phường Lê Chân"
        assert record["Tổ dân phố/thôn"] == '=HYPERLINK("http://x.example")'
        registered = record["Ngày đăng ký"]
        assert isinstance(registered, datetime)
        assert registered.microsecond == 0 and registered.second == 0
        assert abs((registered + timedelta(hours=-7)).replace(tzinfo=UTC) - datetime.now(UTC)) < (
            timedelta(minutes=5)
        )  # Viet Nam's wall clock
        formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
        assert formulas == []
        assert sheet.freeze_panes == "C2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}2"
        assert book.sheetnames == ["Công dân", "Theo phường, xã"]
        # the table stays at A1 (filters, sorting); the title prints at the top of every page
        assert_printable(sheet)
        assert title_rows(sheet) == "1:1"
        assert re.fullmatch(
            r"Dữ liệu Công dân học tập, Phường Lê Chân\. Ngày lập: \d\d/\d\d/20\d\d",
            sheet.oddHeader.center.text.removeprefix("&B"),  # bold
        )
        assert table(book["Theo phường, xã"])[0][-1] == (
            "Số liệu chỉ tính người đồng ý cho dùng dữ liệu để thống kê."
        )

        boss = Chat(app.engine, user="boss", channel="console")
        await boss.send("/export")
        boss.expect("(2 dòng)")  # the admin: the province
        await coord.send("/export csv")
        coord.expect("(1 dòng)")
        await sender(app, deliverer).flush()
        assert any(d.file and d.file.mime_type == "text/csv" for d in deliverer.to("coord"))
    finally:
        await app.close()


async def test_the_ward_office_lists(app: App) -> None:
    async with app.store.transaction() as uow:
        await seed(uow)
    coord = await coordinator(app, "coord")
    await coord.send("/proposed 2026")
    coord.expect(
        "Danh sách đề nghị công nhận Công dân học tập năm 2026, địa bàn Phường Lê Chân: 2 người",
        "1. Người 3 (1970), Phường Lê Chân: 80", "2. Người 4 (1970), Phường Lê Chân: 76",
    )  # fmt: skip
    await coord.send("/notstarted 2026")
    coord.expect("chưa tự đánh giá năm 2026", ": 1 người", "1. Người 5 (1970)")
    await coord.send("/waiting 5")
    coord.expect("chờ duyệt quá 5 ngày", ": 1 bản", "1. Người 1, Phường Lê Chân")
    coord.expect("Danh sách đầy đủ (Excel) được gửi kèm")
    await coord.send("/waiting 999")
    coord.expect("Không có bản tự đánh giá nào chờ duyệt quá 999 ngày")
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    books = _files(deliverer, "coord")
    assert len(books) == 3
    signatures = [
        "Lê Chân, ngày …… tháng …… năm ……",
        "NGƯỜI LẬP BIỂU", "XÁC NHẬN CỦA HỘI KHUYẾN HỌC PHƯỜNG LÊ CHÂN",
        "(Ký, ghi rõ họ tên)", "(Ký, ghi rõ họ tên)",
        "Họ và tên: ……………………………", "Họ và tên: ……………………………",
    ]  # fmt: skip
    titles = [
        "DANH SÁCH ĐỀ NGHỊ CÔNG NHẬN «CÔNG DÂN HỌC TẬP» NĂM 2026",
        "DANH SÁCH NGƯỜI ĐÃ ĐĂNG KÝ, CHƯA TỰ ĐÁNH GIÁ NĂM 2026",
        "DANH SÁCH BẢN TỰ ĐÁNH GIÁ CHỜ DUYỆT QUÁ 5 NGÀY",
    ]
    for book, title in zip(books, titles, strict=True):
        above, rows, after = table(book.active)
        assert above[:2] == [title, "Đơn vị: Phường Lê Chân"]
        assert re.fullmatch(r"Ngày lập: \d\d/\d\d/20\d\d", above[2])
        assert rows[0][:2] == ("STT", "Họ và tên")
        assert after == signatures
        assert_printable(book.active)
    proposed = table(books[0].active)[1]
    assert [row[1] for row in proposed[1:]] == ["Người 3", "Người 4"]
    assert proposed[1][3:5] == ("Nữ", "Người dân ở phường/xã")
    not_started = table(books[1].active)[1]
    assert dict(zip(not_started[0], not_started[1], strict=True))["Kênh"] == "Telegram"
    citizen = Chat(app.engine, user="c")
    await register(citizen)
    for command in ("/proposed", "/notstarted", "/waiting"):
        await citizen.send(command)
        citizen.expect("chỉ dành cho cán bộ")


async def test_the_report_counts_only_who_agreed_to_statistics_the_lists_everyone(
    any_app: App,
) -> None:
    """Item 5 of issue 17: the optional statistics purpose is honoured by the figures (chat,
    command line, dashboard and workbook share ``build_report``); the named lists serve
    verification (registration and sharing) and hold everyone."""
    async with any_app.store.transaction() as uow:
        never = await uow.citizens.create(person("Lê Văn Chưa", LE_CHAN, group=3), NOW)
        await agreed(uow, never, (REGISTRATION, SHARING))  # said no to statistics
        withdrew = await uow.citizens.create(person("Trần Thị Rút", LE_CHAN, group=3), NOW)
        await uow.consents.record(withdrew.id, "test", list(PURPOSES), NOW, "telegram")
        counted = await uow.citizens.create(person("Phạm Văn Đồng", LE_CHAN, group=3), NOW)
        await agreed(uow, counted)
        deciders = ("zalo:zl-1", "telegram:7001", "telegram:7001")
        for citizen, account in zip((never, withdrew, counted), deciders, strict=True):
            declaration = await uow.declarations.create(citizen.id, 2026, "qd324-2023", NOW)
            for indicator in range(1, 11):
                await uow.declarations.set_score(declaration.id, indicator, 8, NOW)
            await uow.declarations.update(
                declaration.id, NOW, status="recognised", submitted_at=NOW, decision="approved",
                decided_by=account, decided_at=NOW,
            )  # fmt: skip
    async with any_app.store.transaction() as uow:  # later, from /profile
        assert await uow.consents.withdraw(withdrew.id, STATISTICS, NOW + timedelta(days=3))

    async def figures() -> dict[str, Any]:
        async with any_app.store.transaction() as uow:
            report = await build_report(uow, any_app.wards, 2026, None, Targets.load(), None)
        digital = next(row for row in report.targets if row.id == "digital")
        return as_dict(report) | {"digital": digital.achieved}

    found = await figures()
    assert found["units"][LE_CHAN] == {
        "registered": 1, "declaring": 0, "submitted": 1, "pending": 0, "returned": 0,
        "recognised": 1, "not_recognised": 0,
    }  # fmt: skip
    assert found["province"]["registered"] == found["province"]["recognised"] == 1
    assert found["by_group"][3]["registered"] == 1
    assert found["digital"] == 1
    async with any_app.store.transaction() as uow:
        # as staff_names gives them: the name given, else the account
        names = {"telegram:7001": "Nguyễn Văn An", "zalo:zl-1": "zalo:zl-1"}
        rows = await list_rows(
            uow, "proposed", frozenset({LE_CHAN}), 2026, NOW, 7, any_app.wards.name_of, names,
            lambda key: any_app.translator("vi", key),
        )  # fmt: skip
        assert [(row[1], row[-1]) for row in rows] == [
            ("Lê Văn Chưa", "Chưa ghi tên (Zalo)"),  # never the zalo:zl-1 token nor zl-1
            ("Phạm Văn Đồng", "Nguyễn Văn An"),  # by given name: Chưa, Đồng, Rút
            ("Trần Thị Rút", "Nguyễn Văn An"),
        ]
        assert len(await collect_records(uow, any_app.services.criteria, {LE_CHAN})) == 3

    async with any_app.store.transaction() as uow:  # agreeing again counts again
        await uow.consents.record(withdrew.id, "test", [STATISTICS], NOW, "telegram")
    assert (await figures())["province"]["registered"] == 2

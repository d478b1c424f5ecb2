"""Reports against the national targets, Excel files read back with openpyxl, and the ward
office's lists, in the chat; counts checked on a seeded database with known answers, on both
storage backends."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl

from bot.app import App
from bot.engine.ports import NewCitizen, UnitOfWork
from bot.services.report import Population, Targets, as_dict, build_report, render_table
from tests.chat import Chat, answer_until, register
from tests.conftest import make_settings, started_app
from tests.verification_helpers import RecordingDeliverer, coordinator, sender

LE_CHAN, NGO_QUYEN, AN_BIEN = "11383", "11329", "11407"
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def person(name: str, ward: str, group: int = 1, gender: str = "female") -> NewCitizen:
    return NewCitizen(
        full_name=name, birth_year=1970, gender=gender, phone="+84912345678", group=group,
        ward_code=ward, ward_name=ward, ward_data_version="test", residential_group="Tổ 5",
        workplace=None, guardian_consent=None, channel="telegram", locale="vi",
    )  # fmt: skip


async def seed(uow: UnitOfWork) -> None:
    """Lê Chân: 6 registered (group 1 ×4, group 3 ×2); 1 draft, 1 pending, 1 returned, 2
    recognised (one of them group 3; one with indicator 5 at 4), 1 not started. Ngô Quyền: 2
    registered, 1 not recognised, 1 declaration of last year only. An Biên: nobody."""
    plan = [
        (LE_CHAN, 1, "draft"), (LE_CHAN, 1, "submitted"), (LE_CHAN, 1, "returned"),
        (LE_CHAN, 1, "recognised"), (LE_CHAN, 3, "recognised"), (LE_CHAN, 3, None),
        (NGO_QUYEN, 1, "not_recognised"), (NGO_QUYEN, 2, "last-year"),
    ]  # fmt: skip
    for n, (ward, group, status) in enumerate(plan):
        citizen = await uow.citizens.create(person(f"Người {n}", ward, group), NOW)
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
    header = next(line for line in lines if line.startswith("Đơn vị"))
    le_chan = next(line for line in lines if line.startswith("Phường Lê Chân"))
    assert len(header) == len(le_chan)  # aligned columns
    assert le_chan.split()[-8:] == ["6", "1", "4", "1", "1", "2", "0", "33.3%"]
    assert "thiếu số liệu dân số (adults, CDHT_POPULATION_CSV)" in table

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
        "Số liệu năm 2026, địa bàn Phường Lê Chân", "Đã đăng ký: 6", "Được công nhận: 2 (33.3%",
        "Chưa bắt đầu tự đánh giá: 1", "So với chỉ tiêu QĐ 677/QĐ-TTg",
        "Người trưởng thành đạt danh hiệu: chỉ tiêu 60% đến năm 2030",
        "Báo cáo chi tiết (Excel) được gửi kèm",
    )  # fmt: skip
    deliverer = RecordingDeliverer()
    await sender(app, deliverer).flush()
    (book,) = _files(deliverer, "coord")
    assert book.sheetnames == ["Theo phường, xã", "Theo đối tượng", "Chỉ tiêu QĐ 677"]
    units = book["Theo phường, xã"]
    rows = list(units.iter_rows(values_only=True))
    assert rows[0][:3] == ("Đơn vị", "Đã đăng ký", "Đang khai")
    assert rows[1][:8] == ("Phường Lê Chân", 6, 1, 4, 1, 1, 2, 0)
    assert rows[-1][0] == "Cộng"  # a coordinator's scope, not the province
    assert len(rows) == 3  # header, the one ward, the total
    assert units.freeze_panes == "B2"
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
    proposed = list(books[0].active.iter_rows(values_only=True))
    assert proposed[0][:2] == ("STT", "Họ và tên")
    assert [row[1] for row in proposed[1:]] == ["Người 3", "Người 4"]
    citizen = Chat(app.engine, user="c")
    await register(citizen)
    for command in ("/proposed", "/notstarted", "/waiting"):
        await citizen.send(command)
        citizen.expect("chỉ dành cho cán bộ")

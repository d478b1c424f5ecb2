"""On Telegram (both client libraries): a city admin receives the province report and its
Excel file in the chat; a coordinator gets the ward's list proposed for recognition."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import openpyxl

from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.flows.test_reports import LE_CHAN, seed, table
from tests.handlers.telegram.conftest import start_bot
from tests.verification_helpers import invite

ADMIN, COORDINATOR = 777009, 777010
Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


async def test_the_admin_gets_the_province_report_and_its_excel_file(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    settings = settings.model_copy(
        update={"admins": Settings.model_validate({"admins": f"telegram:{ADMIN}"}).admins,
                "campaign_year": 2026}
    )  # fmt: skip
    bot = await start_bot(settings, fake)
    try:
        async with bot.app.store.transaction() as uow:
            await seed(uow)
        told = await converse(ADMIN, lambda: fake.send_text(ADMIN, "/report"), "Số liệu năm 2026")
        assert "toàn thành phố" in told and "Đã đăng ký: 8" in told
        await fake.wait_for(lambda: bool(fake.calls_of("sendDocument")))
        (document,) = fake.calls_of("sendDocument")
        assert int(document["chat_id"]) == ADMIN
        assert "Báo cáo Công dân học tập, toàn thành phố" in document["caption"]
        book = openpyxl.load_workbook(io.BytesIO(fake.uploads[-1]))
        rows = table(book["Theo phường, xã"])[1]  # under the title, unit and date
        assert len(rows) == 1 + 114 + 1  # header, every unit, the province
        assert rows[-1][:3] == ("Toàn thành phố", 8, 1)

        code = await invite(bot.app, wards=(LE_CHAN,))
        await converse(
            COORDINATOR, lambda: fake.send_text(COORDINATOR, f"/coordinator {code}"), "Lê Chân"
        )
        await converse(COORDINATOR, lambda: fake.send_text(COORDINATOR, "Trần Văn Bình"), "Số")
        await converse(COORDINATOR, lambda: fake.send_text(COORDINATOR, "0225 3841 234"), "Đã lưu")
        listed = await converse(
            COORDINATOR, lambda: fake.send_text(COORDINATOR, "/proposed"), "đề nghị công nhận"
        )
        assert "1. Người 3 (1970), Phường Lê Chân: 80" in listed
        await fake.wait_for(lambda: len(fake.calls_of("sendDocument")) == 2)
        rows = table(openpyxl.load_workbook(io.BytesIO(fake.uploads[-1])).active)[1]
        assert [row[1] for row in rows[1:]] == ["Người 3", "Người 4"]
    finally:
        await bot.shutdown()

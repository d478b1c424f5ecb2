"""`cdht run` as a process, pointed at the fake Bot API server: a whole registration by buttons
and typed answers, then `cdht export --format json` shows the record."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.zalo_api import TOKEN as ZALO_TOKEN
from tests.fakes.zalo_api import FakeZalo

USER = 777123


async def test_cdht_run_registers_a_citizen_and_export_shows_it(
    fake: FakeTelegram, zalo: FakeZalo, tmp_path: Path, telegram_backend: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
    env.update(
        CDHT_DATA_DIR=str(tmp_path),
        CDHT_TELEGRAM_TOKEN=TOKEN,
        CDHT_TELEGRAM_API_URL=fake.url,
        CDHT_TELEGRAM_BACKEND=telegram_backend,
        CDHT_ZALO_TOKEN=ZALO_TOKEN,
        CDHT_ZALO_API_URL=zalo.url,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:

        async def says(action: object, expected: str) -> None:
            before = len(fake.sent(USER))
            await action  # type: ignore[misc]
            await fake.wait_for(
                lambda: any(expected in p["text"] for p in fake.sent(USER)[before:]), timeout=30
            )

        await says(fake.send_text(USER, "/start"), "Công dân học tập")
        await says(fake.press(USER, "Đủ 16 tuổi trở lên"), "Đồng ý để")
        await says(fake.press(USER, "Đồng ý"), "chia sẻ")
        await says(fake.press(USER, "Đồng ý"), "thống kê")
        await says(fake.press(USER, "Đồng ý"), "đối tượng")
        await says(fake.press(USER, "Người dân ở phường/xã"), "họ và tên")
        await says(fake.send_text(USER, "Tô Hiến Thành"), "năm sinh")
        await says(fake.send_text(USER, "1958"), "Giới tính")
        await says(fake.press(USER, "Nam"), "số điện thoại")
        await says(fake.share_contact(USER, "+84 912 888 999"), "phường/xã")
        await says(fake.send_text(USER, "thuy nguyen"), "Chọn đúng phường/xã")
        await says(fake.press(USER, "Phường Thủy Nguyên"), "tổ dân phố")
        await says(fake.send_text(USER, "Thôn Đông"), "Tô Hiến Thành")
        await says(fake.press(USER, "Xác nhận đăng ký"), "thành công")
        # the same process serves Zalo
        await zalo.send_text("z-1", "xin chào")
        await zalo.wait_for(
            lambda: any("1. Đủ 16 tuổi trở lên" in m for m in zalo.sent("z-1")), timeout=30
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert TOKEN not in stderr.decode()
    assert ZALO_TOKEN not in stderr.decode()
    assert f"serving telegram ({telegram_backend}), zalo" in stderr.decode()

    export = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "export", "--format", "json",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(export.communicate(), 60)
    (record,) = json.loads(stdout)
    assert record["full_name"] == "Tô Hiến Thành"
    assert record["phone"] == "+84912888999"
    assert record["ward_name"] == "Phường Thủy Nguyên"
    assert record["channel"] == "telegram"
    assert record["group"] == 1

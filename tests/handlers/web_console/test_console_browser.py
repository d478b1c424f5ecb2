"""The web console in Chromium: a coordinator signs in with the link /web sent to the fake
Telegram chat, opens a declaration, sees its photo, adjusts a score and approves; the citizen
receives the decision and the recognition letter in their chat, and the letter's verification
page says valid, then invalid once the citizen has deleted their data. And as an attacker: a
URL of another ward's declaration (answered as an unknown number is), a POST without the CSRF
token, a used or expired link."""

from __future__ import annotations

import asyncio
import re
import struct
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from playwright.async_api import BrowserContext, Page, Response, expect

from bot.config import Settings
from bot.services.console import secret_hash
from tests.bots import Running, start_bot
from tests.chat import Chat, answer_until
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.telegram.test_telegram_declaration import USER as CITIZEN
from tests.handlers.telegram.test_telegram_declaration import register
from tests.handlers.web_console.conftest import free_port
from tests.verification_helpers import invite

COORDINATOR, OUTSIDER = 777001, 777002
AN_LAO, LE_CHAN = "11629", "11383"
Action = Callable[[], Awaitable[object]]


def png(width: int = 48, height: int = 32) -> bytes:
    """A real image (a browser must be able to draw it): red, as a PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc0\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def said(fake: FakeTelegram, user: int, action: Action, expected: str) -> str:
    before = len(fake.sent(user))
    await action()
    await fake.wait_for(lambda: any(expected in p["text"] for p in fake.sent(user)[before:]))
    return "\n".join(p["text"] for p in fake.sent(user)[before:])


async def staff(fake: FakeTelegram, bot: Running, user: int, ward: str, name: str) -> None:
    code = await invite(bot.app, wards=(ward,))
    await said(fake, user, lambda: fake.send_text(user, f"/coordinator {code}"), "Người dân")
    await said(fake, user, lambda: fake.send_text(user, name), "Số điện thoại")
    await said(fake, user, lambda: fake.send_text(user, "0225 3841 234"), "Đã lưu")


async def declared(fake: FakeTelegram) -> None:
    """The citizen of Xã An Lão submits, with a photo for indicator 1."""

    async def converse(user: int, action: Action, expected: str) -> str:
        return await said(fake, user, action, expected)

    await register(fake, converse)
    await said(fake, CITIZEN, lambda: fake.send_text(CITIZEN, "/declare"), "khoảng 10 phút")
    await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Bắt đầu"), "Chỉ số 1/10")
    await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "9"), "Minh chứng cho chỉ số 1")
    await said(fake, CITIZEN, lambda: fake.send_photo(CITIZEN, "ph-1", png()), "Đã nhận tệp")
    await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Xong"), "Chỉ số 2/10")
    for indicator in range(2, 11):
        await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "8"), f"cho chỉ số {indicator}")
        following = f"Chỉ số {indicator + 1}/10" if indicator < 10 else "Tổng điểm"
        await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Không có minh chứng"), following)
    await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Nộp để xác nhận"), "Đã nộp")


async def sign_in(page: Page, link: str) -> Response | None:
    """Open the link, then press the button (a GET alone signs nobody in); the response."""
    await page.goto(link)
    async with page.expect_navigation() as navigation:
        await page.locator("#signin").click()
    return await navigation.value


async def sign_in_link(fake: FakeTelegram, user: int) -> str:
    text = await said(fake, user, lambda: fake.send_text(user, "/web"), "/console/signin/")
    found = re.search(r"http://\S+/console/signin/\S+", text)
    assert found is not None, text
    return found.group(0)


async def test_a_coordinator_approves_in_the_browser_and_the_citizen_gets_the_letter(
    console_bot: Running, fake: FakeTelegram, page: Page
) -> None:
    await staff(fake, console_bot, COORDINATOR, AN_LAO, "Vũ Thị Mai")
    await declared(fake)
    link = await sign_in_link(fake, COORDINATOR)
    preview = await page.context.request.get(link)  # as the chat app's link preview does
    assert preview.status == 200 and "Vào trang quản lý" in await preview.text()

    await sign_in(page, link)
    await expect(page.get_by_role("heading", name="Hồ sơ chờ xác nhận")).to_be_visible()
    await expect(page.locator("table.queue")).to_contain_text("Phan Bội Châu")
    await expect(page.locator("table.queue")).to_contain_text("Xã An Lão")
    await page.get_by_role("link", name="Phan Bội Châu").click()
    await expect(page.locator("h1")).to_contain_text("Phan Bội Châu")
    await expect(page.locator("#claim")).to_contain_text("giữ cho Vũ Thị Mai (Telegram) đến")
    photo = page.locator("#i1 .evidence img")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.naturalWidth") == 48  # drawn, not a broken image

    adjust = page.locator("#i2 form.adjust")
    await adjust.locator("input[name=score]").fill("7")
    await adjust.locator("input[name=reason]").fill("Chưa có xác nhận của thư viện")
    await adjust.get_by_role("button").click()
    await expect(page.locator("#i2 .verified")).to_have_text("7")

    approve = page.locator("form.decision").filter(has=page.locator("#approve"))
    await approve.get_by_role("checkbox").check()
    await page.locator("#approve").click()
    await expect(page.locator(".status")).to_contain_text("Xác nhận đạt, đề nghị công nhận")
    await expect(page.locator("ol.history")).to_contain_text("trên trang quản lý")
    await expect(page.locator("#undo")).to_be_visible()

    # the citizen's page: their history, the decision taken on the web among it
    await page.get_by_role("link", name="Người dân").click()
    await page.get_by_label("Họ tên hoặc số điện thoại").fill("Phan")
    await page.get_by_role("button", name="Lọc").click()
    await page.get_by_role("link", name="Phan Bội Châu").click()
    await expect(page.locator("h1")).to_have_text("Người dân: Phan Bội Châu")
    await expect(page.locator("ol.history")).to_contain_text(
        "Vũ Thị Mai (Telegram): Xác nhận đạt, đề nghị công nhận"
    )

    # the citizen hears at once, signed with the coordinator's name, with the letter's button
    await fake.wait_for(lambda: any("Chúc mừng" in p["text"] for p in fake.sent(CITIZEN)))
    told = next(p["text"] for p in fake.sent(CITIZEN) if "Chúc mừng" in p["text"])
    assert "Vũ Thị Mai" in told and "80/100" in told  # 9 + 8 × 9, indicator 2 adjusted to 7
    text = await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Nhận giấy xác nhận"), "/v/")
    await fake.wait_for(
        lambda: any(int(d["chat_id"]) == CITIZEN for d in fake.calls_of("sendDocument"))
    )
    assert fake.uploads[-1].startswith(b"%PDF-")
    found = re.search(r"http://\S+/v/\S+", text)
    assert found is not None
    await page.goto(found.group(0))
    await expect(page.locator(".valid")).to_have_text("Còn hiệu lực")
    await expect(page.locator("dl")).to_contain_text("Phan Bội Châu")

    # deleted data: the letter no longer verifies
    await said(fake, CITIZEN, lambda: fake.send_text(CITIZEN, "/profile"), "Thông tin")
    await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Xóa toàn bộ dữ liệu"), "hoàn tác")
    await said(fake, CITIZEN, lambda: fake.press(CITIZEN, "Xóa vĩnh viễn"), "Đã xóa")
    await page.reload()
    await expect(page.locator(".invalid")).to_contain_text("KHÔNG còn hiệu lực")
    await expect(page.locator("body")).not_to_contain_text("Phan Bội Châu")


async def test_the_console_refuses_what_the_chat_refuses(
    console_bot: Running, fake: FakeTelegram, page: Page, context: BrowserContext
) -> None:
    await staff(fake, console_bot, OUTSIDER, LE_CHAN, "Trần Văn Bình")
    await declared(fake)
    async with console_bot.app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    link = await sign_in_link(fake, OUTSIDER)
    base = link.split("/console/")[0]

    await sign_in(page, link)
    await expect(page.locator("p.empty")).to_contain_text("Không có hồ sơ")  # not their ward
    async with console_bot.app.store.transaction() as uow:
        (person,) = await uow.citizens.list()
    # another ward's records answer as unknown numbers do (issue 18): nothing says they exist
    other = await page.goto(f"{base}/console/citizens/{person.id}")
    assert other is not None and other.status == 404
    await page.goto(f"{base}/console/citizens?q=Phan")
    await expect(page.locator("p.empty")).to_contain_text("Không tìm thấy")
    response = await page.goto(f"{base}/console/d/{declaration.id}")
    assert response is not None and response.status == 404
    await expect(page.locator(".message")).to_have_text(
        "Không tìm thấy hồ sơ này trong các phường/xã do tài khoản này phụ trách."
    )
    files = await page.goto(f"{base}/console/file/{declaration.id}/{'0' * 64}")
    assert files is not None and files.status == 404

    # a POST without the CSRF token, with the session's own cookie
    forged = await context.request.post(
        f"{base}/console/d/{declaration.id}/decide",
        form={"action": "approve", "confirm": "yes"},
    )
    assert forged.status == 403
    assert "Biểu mẫu đã cũ hoặc không hợp lệ" in await forged.text()

    # the link was single use; an expired one is refused too
    again = await sign_in(page, link)
    assert again is not None and again.status == 403
    await expect(page.locator(".message")).to_contain_text("đã được dùng, đã hết hạn")
    async with console_bot.app.store.transaction() as uow:
        past = datetime.now(UTC) - timedelta(minutes=11)
        await uow.web.add_sign_in(secret_hash("old-token"), f"telegram:{OUTSIDER}", past, past)
    expired = await sign_in(page, f"{base}/console/signin/old-token")
    assert expired is not None and expired.status == 403

    # signed out, the cookie opens nothing; a citizen gets no link at all
    await page.goto(f"{base}/console/")  # still signed in from the first link
    await page.get_by_role("button", name="Đăng xuất").click()
    await expect(page.locator(".message")).to_contain_text("Đã đăng xuất")
    after = await page.goto(f"{base}/console/")
    assert after is not None and after.status == 401
    refused = await said(fake, CITIZEN, lambda: fake.send_text(CITIZEN, "/web"), "cán bộ")
    assert "/console/signin/" not in refused
    async with console_bot.app.store.transaction() as uow:
        untouched = await uow.declarations.get(declaration.id)
    assert untouched is not None and untouched.status == "submitted"


async def test_a_broadcast_composed_on_the_web_reaches_the_audience_it_counted(
    settings: Settings, fake: FakeTelegram, page: Page
) -> None:
    port = free_port()
    admin = Settings.model_validate({"admins": "telegram:777003"}).admins
    bot = await start_bot(
        settings, fake, webhook_port=port, public_base_url=f"http://127.0.0.1:{port}",
        admins=admin, quiet_hours=None,
    )  # fmt: skip
    try:
        for user in ("600001", "600002"):  # Phường Lê Chân
            await answer_until(Chat(bot.app.engine, user=user, channel="telegram"), None)
        await answer_until(
            Chat(bot.app.engine, user="600003", channel="telegram"), None,
            ward="ngo quyen", ward_pick="Phường Ngô Quyền",
        )  # fmt: skip
        link = await sign_in_link(fake, 777003)
        await sign_in(page, link)
        await page.get_by_role("link", name="Tin thông báo").click()
        await page.get_by_label("Nội dung").fill(
            "Mời bà con dự buổi nói chuyện về học tập suốt đời"
        )
        await page.locator("select[name=ward]").select_option(LE_CHAN)
        await page.locator("#count").click()
        await expect(page.locator("#recipients")).to_have_text("Số người nhận: 2")
        await page.locator("#send").click()
        await expect(page.locator("h1")).to_contain_text("Tin thông báo #")

        def delivered() -> set[int]:
            return {
                int(call["chat_id"])
                for call in fake.calls_of("sendMessage")
                if "học tập suốt đời" in call["text"]
            }

        await fake.wait_for(lambda: len(delivered()) == 2)
        await asyncio.sleep(0.3)  # nothing more arrives
        assert delivered() == {600001, 600002}
        await page.reload()
        await expect(page.locator("#c-sent")).to_have_text("2")
    finally:
        await bot.shutdown()


async def test_an_admin_invites_and_revokes_staff_on_the_web(
    settings: Settings, fake: FakeTelegram, page: Page
) -> None:
    port = free_port()
    admin = Settings.model_validate({"admins": "telegram:777003"}).admins
    bot = await start_bot(
        settings, fake, webhook_port=port, public_base_url=f"http://127.0.0.1:{port}",
        admins=admin,
    )  # fmt: skip
    try:
        await sign_in(page, await sign_in_link(fake, 777003))
        await page.get_by_role("link", name="Cán bộ").click()
        await page.locator("select[name=ward]").select_option(AN_LAO)
        await page.locator("#invite").click()
        code = (await page.locator("#code").inner_text()).strip()
        await expect(page.locator("img[alt^='QR']")).to_be_visible()
        await said(fake, 777004, lambda: fake.send_text(777004, f"/coordinator {code}"), "Xã")
        await said(fake, 777004, lambda: fake.send_text(777004, "Ngô Thị Hoa"), "Số điện thoại")
        await said(fake, 777004, lambda: fake.send_text(777004, "0225 3841 234"), "Đã lưu")
        await page.reload()  # a GET after the POST: the list now holds the new coordinator
        await page.goto(f"http://127.0.0.1:{port}/console/staff")
        row = page.locator("tr").filter(has_text="Ngô Thị Hoa")
        await expect(row).to_contain_text("Xã An Lão")
        await row.get_by_role("button", name="Thu hồi quyền").click()
        await page.locator("#confirm-revoke").click()  # the second step names the person
        await expect(page.locator(".message")).to_contain_text("Đã thu hồi quyền")
        await fake.wait_for(lambda: any("thu hồi" in p["text"] for p in fake.sent(777004)))
        # a coordinator has no staff page
        code2 = await invite(bot.app, wards=(AN_LAO,))
        await said(fake, 777005, lambda: fake.send_text(777005, f"/coordinator {code2}"), "Xã")
        await said(fake, 777005, lambda: fake.send_text(777005, "Lê Văn Tám"), "Số điện thoại")
        await sign_in(page, await sign_in_link(fake, 777005))
        refused = await page.goto(f"http://127.0.0.1:{port}/console/staff")
        assert refused is not None and refused.status == 403
    finally:
        await bot.shutdown()

"""The web console says what it records and what it does, in words an official reads, on a
phone as on a PC (issue 17, items 2 and 6, the console's share). In Chromium:

- the approve action names the result the rule gives the (adjusted) scores, warns when that
  result is a failure, and afterwards says what the store holds;
- opening a declaration says who holds it and until when (Viet Nam time), and it can be given
  back to the queue;
- revoking a staff member takes a second, server-side step that names the person;
- no internal token (`citizen`, `(undo)`, `ward_code`, `CDHT_…`, `telegram:123`) on any page;
- a confirmation checkbox sits on the line of its text;
- every page fits a 390 × 844 phone without scrolling sideways.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from bot.config import Settings
from bot.domain.usecases.roles import role_of
from bot.services.console import issue_sign_in
from tests.bots import Running, start_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.web_console.conftest import free_port
from tests.verification_helpers import coordinator, submitted

ADMIN = 777003  # configured in CDHT_ADMINS, never gave a name
LE_CHAN = "11383"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
# 9 + 8 × 9 = 81: «Đạt» as declared
EIGHTY_ONE = {1: 9, **{n: 8 for n in range(2, 11)}}


@pytest.fixture
async def bot(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Running]:
    port = free_port()
    running = await start_bot(
        settings, fake, webhook_port=port, public_base_url=f"http://127.0.0.1:{port}",
        admins=Settings.model_validate({"admins": f"telegram:{ADMIN}"}).admins,
        quiet_hours=None,
    )  # fmt: skip
    yield running
    await running.shutdown()


def base(bot: Running) -> str:
    return str(bot.app.settings.public_base_url)


async def sign_in_as(page: Page, bot: Running, account: str) -> None:
    """What /web does (``issue_sign_in``), then the link opened and its button pressed."""
    async with bot.app.store.transaction() as uow:
        token = await issue_sign_in(uow, account, datetime.now(UTC))
    await page.goto(f"{base(bot)}/console/signin/{token}")
    async with page.expect_navigation():
        await page.locator("#signin").click()


async def the_declaration(bot: Running) -> int:
    async with bot.app.store.transaction() as uow:
        (declaration,) = await uow.declarations.list()
    return declaration.id


async def adjust(page: Page, indicator: int, score: int, reason: str) -> None:
    form = page.locator(f"#i{indicator} form.adjust")
    await form.locator("input[name=score]").fill(str(score))
    await form.locator("input[name=reason]").fill(reason)
    await form.get_by_role("button").click()
    await expect(page.locator(f"#i{indicator} .verified")).to_have_text(str(score))


# -- 1. the approve action names what it records ---------------------------------------------


async def test_the_approve_action_names_the_result_warns_of_a_failure_and_says_what_was_recorded(
    bot: Running, page: Page
) -> None:
    await coordinator(
        bot.app, "777001", wards=(LE_CHAN,), name="Vũ Thị Mai", phone="0225 3841 234",
        channel="telegram",
    )  # fmt: skip
    await submitted(bot.app, "5001", EIGHTY_ONE)
    number = await the_declaration(bot)
    await sign_in_as(page, bot, "telegram:777001")
    url = f"{base(bot)}/console/d/{number}"
    await page.goto(url)

    approve = page.locator("#approve")
    await expect(approve).to_have_text("Xác nhận kết quả: Đạt (81/100)")
    await expect(page.locator("#approve-warning")).to_have_count(0)

    # the coordinator lowers two scores: 81 − 3 − 2 = 76, under the rule's 80
    await adjust(page, 2, 5, "Chưa có kế hoạch học tập viết ra")
    await adjust(page, 3, 6, "Chỉ tham gia một buổi sinh hoạt")
    await expect(approve).to_have_text("Xác nhận kết quả: Chưa đạt (76/100)")
    warning = page.locator("#approve-warning")
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text("chưa được đề nghị công nhận")
    await expect(warning).to_contain_text("tổng điểm 76 dưới 80")
    await expect(warning).to_contain_text("trả lại để người dân bổ sung minh chứng")

    await page.goto(f"{url}?lang=en")  # the English console says the same
    await expect(approve).to_have_text("Confirm the result: Not passed (76/100)")
    await expect(page.locator("#approve-warning")).to_contain_text("not proposed for recognition")
    await page.goto(f"{url}?lang=vi")

    await page.locator("form.decision").filter(has=approve).get_by_role("checkbox").check()
    await approve.click()
    await expect(page.locator("#done")).to_contain_text("Đã ghi: Chưa đạt, 76/100 điểm")
    await expect(page.locator(".status")).to_contain_text("Không đề nghị công nhận")
    async with bot.app.store.transaction() as uow:
        stored = await uow.declarations.get(number)
    assert stored is not None
    assert (stored.status, stored.decision) == ("not_recognised", "approved")


async def test_a_passing_approval_says_it_recorded_a_pass(bot: Running, page: Page) -> None:
    await coordinator(bot.app, "777001", wards=(LE_CHAN,), name="Vũ Thị Mai", channel="telegram")
    await submitted(bot.app, "5001", {n: 9 for n in range(1, 11)})
    number = await the_declaration(bot)
    await sign_in_as(page, bot, "telegram:777001")
    await page.goto(f"{base(bot)}/console/d/{number}")
    await expect(page.locator("#approve")).to_have_text("Xác nhận kết quả: Đạt (90/100)")
    await (
        page.locator("form.decision")
        .filter(has=page.locator("#approve"))
        .get_by_role("checkbox")
        .check()
    )
    await page.locator("#approve").click()
    await expect(page.locator("#done")).to_contain_text("Đã ghi: Đạt, 90/100 điểm")
    async with bot.app.store.transaction() as uow:
        stored = await uow.declarations.get(number)
    assert stored is not None and stored.status == "recognised"


# -- 2. the claim is said, and can be given back ---------------------------------------------


async def test_opening_a_declaration_says_who_holds_it_until_when_and_it_can_be_given_back(
    bot: Running, page: Page
) -> None:
    await coordinator(bot.app, "777001", wards=(LE_CHAN,), name="Vũ Thị Mai", channel="telegram")
    await coordinator(bot.app, "777002", wards=(LE_CHAN,), name="Lê Văn Tám", channel="telegram")
    await submitted(bot.app, "5001", EIGHTY_ONE)
    number = await the_declaration(bot)
    url = f"{base(bot)}/console/d/{number}"

    await sign_in_as(page, bot, "telegram:777001")
    await page.goto(url)
    async with bot.app.store.transaction() as uow:
        held = await uow.declarations.get(number)
    assert held is not None and held.claimed_at is not None
    until = (held.claimed_at + timedelta(hours=24)).astimezone(VN).strftime("%d/%m/%Y %H:%M")
    claim = page.locator("#claim")
    await expect(claim).to_contain_text(
        f"hồ sơ được giữ cho Vũ Thị Mai (Telegram) đến {until} (giờ Việt Nam)"
    )
    await expect(page.locator("#release")).to_have_text("Trả lại hàng chờ")

    # another coordinator of the ward reads who holds it and until when; no decision forms
    await sign_in_as(page, bot, "telegram:777002")
    await page.goto(url)
    await expect(claim).to_contain_text(f"đang do Vũ Thị Mai (Telegram) giữ để xem xét đến {until}")
    await expect(page.locator("#release")).to_have_count(0)
    await expect(page.locator("#approve")).to_have_count(0)
    await page.goto(f"{base(bot)}/console/")
    await expect(page.locator("table.queue")).to_contain_text("Vũ Thị Mai (Telegram), đến")

    # the holder gives it back: the chat's release, and the queue says so
    await sign_in_as(page, bot, "telegram:777001")
    await page.goto(url)
    await page.locator("#release").click()
    await expect(page.locator("h1")).to_have_text("Hồ sơ chờ xác nhận")
    await expect(page.locator(".message")).to_contain_text(f"Đã trả hồ sơ #{number} về hàng chờ")
    async with bot.app.store.transaction() as uow:
        released = await uow.declarations.get(number)
    assert released is not None and released.claimed_by is None
    await expect(page.locator("table.queue")).not_to_contain_text("Vũ Thị Mai")

    await sign_in_as(page, bot, "telegram:777002")  # now the other one may take it
    await page.goto(url)
    await expect(claim).to_contain_text("hồ sơ được giữ cho Lê Văn Tám (Telegram)")
    await expect(page.locator("#approve")).to_be_visible()


# -- 3. revoking asks first ------------------------------------------------------------------


async def test_revoking_a_staff_member_takes_a_confirmation_that_names_them(
    bot: Running, page: Page, fake: FakeTelegram
) -> None:
    await coordinator(bot.app, "777004", wards=(LE_CHAN,), name="Ngô Thị Hoa", channel="telegram")

    async def still_staff() -> bool:
        async with bot.app.store.transaction() as uow:
            return (await role_of(uow, "telegram", "777004", bot.app.services.admins)).is_staff

    await sign_in_as(page, bot, f"telegram:{ADMIN}")
    await page.goto(f"{base(bot)}/console/staff")
    row = page.locator("tr").filter(has_text="Ngô Thị Hoa")
    await row.get_by_role("button", name="Thu hồi quyền").click()

    # one click only asks: the person, the role, what happens
    await expect(page.locator("h1")).to_have_text("Thu hồi quyền của Ngô Thị Hoa (Telegram)?")
    consequences = page.locator("#consequences")
    await expect(consequences).to_contain_text("mất quyền ngay lập tức")
    await expect(consequences).to_contain_text("nhận được tin báo")
    assert await still_staff()

    # the server asks again for a POST without the confirmation, whatever the page did
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    member = page.url.rstrip("/").split("/")[-2]
    forged = await page.context.request.post(
        f"{base(bot)}/console/staff/{member}/revoke", form={"csrf": str(csrf)}
    )
    assert forged.status == 200 and "Thu hồi quyền của Ngô Thị Hoa" in await forged.text()
    assert await still_staff()

    await page.locator("#confirm-revoke").click()
    await expect(page.locator(".message")).to_contain_text(
        "Đã thu hồi quyền của Ngô Thị Hoa (Telegram)"
    )
    assert not await still_staff()
    await fake.wait_for(lambda: any("thu hồi" in p["text"] for p in fake.sent(777004)))


# -- 4 and 6: every page, in words, on a phone -----------------------------------------------

# What an official must never read: the code's names for people, states, settings, accounts.
TOKENS = (
    "citizen", "(undo)", "undo", "ward_code", "CDHT_", "consent withdrawn", "None",
    "not_recognised", "recognised", "submitted", "photo", "document", "console", "cli",
)  # fmt: skip
CODE_LIKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b(?:telegram|zalo|console|test|cli):\S+|CDHT_")

Visit = Callable[[str], Awaitable[None]]


async def walk(page: Page, bot: Running, visit: Visit) -> list[str]:
    """Every console page, as a coordinator and as an admin, with a history that holds a
    citizen's submission, an adjustment, a decision and its undo; ``visit`` checks each."""
    seen: list[str] = []

    async def at(name: str, url: str | None = None) -> None:
        if url is not None:
            await page.goto(url)
        seen.append(name)
        await visit(name)

    # a coordinator on the console channel, as `cdht console --user cb-an` makes them
    await coordinator(bot.app, "cb-an", wards=(LE_CHAN,), name="Trần Thị An", channel="console")
    await submitted(bot.app, "5001", EIGHTY_ONE)
    number = await the_declaration(bot)
    root = base(bot)

    async with bot.app.store.transaction() as uow:
        token = await issue_sign_in(uow, "console:cb-an", datetime.now(UTC))
    await at("sign-in", f"{root}/console/signin/{token}")
    async with page.expect_navigation():
        await page.locator("#signin").click()
    await at("queue (coordinator)")
    await page.goto(f"{root}/console/d/{number}")
    await adjust(page, 2, 7, "Chưa có xác nhận của thư viện")
    await at("review, held (coordinator)")
    await (
        page.locator("form.decision")
        .filter(has=page.locator("#approve"))
        .get_by_role("checkbox")
        .check()
    )
    async with page.expect_navigation():
        await page.locator("#approve").click()
    await at("review, decided")
    async with page.expect_navigation():
        await page.locator("#undo").click()
    await at("review, undone")
    await at("queue, held", f"{root}/console/")

    await sign_in_as(page, bot, f"telegram:{ADMIN}")
    await at("queue (admin)")
    await at("review, held by another", f"{root}/console/d/{number}")
    await at("dashboard", f"{root}/console/dashboard")
    await at("citizens", f"{root}/console/citizens?q=Nguy")
    await page.locator("main table a[href^='/console/citizens/']").first.click()
    await page.wait_for_url(re.compile(r"/console/citizens/\d+$"))
    await at("citizen")
    await at("broadcasts", f"{root}/console/broadcasts")
    await page.locator("textarea[name=text]").fill("Mời bà con dự buổi nói chuyện về học tập")
    await page.locator("#count").click()
    await expect(page.locator("#recipients")).to_be_visible()
    await at("broadcast, counted")
    await page.locator("#send").click()
    await page.wait_for_url(re.compile(r"/console/broadcasts/\d+$"))
    await at("broadcast")
    await at("staff", f"{root}/console/staff")
    async with page.expect_navigation():  # asks first (see the test of revoking)
        await page.locator("tr").filter(has_text="Trần Thị An").get_by_role("button").click()
    await at("staff, revoke?")
    return seen


async def test_no_internal_name_reaches_an_official_on_any_page(bot: Running, page: Page) -> None:
    found: dict[str, list[str]] = {}

    async def words_only(name: str) -> None:
        text = await page.inner_text("body")
        bad = [token for token in TOKENS if token in text] + CODE_LIKE.findall(text)
        if bad:
            found[name] = bad

    seen = await walk(page, bot, words_only)
    assert len(seen) == 16
    assert found == {}
    # and the words that replace them
    await page.goto(f"{base(bot)}/console/d/{await the_declaration(bot)}")
    history = page.locator("ol.history")
    await expect(history).to_contain_text("Người dân: Chờ duyệt")
    await expect(history).to_contain_text(
        "Trần Thị An (kênh chạy thử trên máy): điều chỉnh điểm chỉ số 2: 8 → 7"
    )
    await expect(history).to_contain_text("Hoàn tác quyết định")
    await expect(page.locator(".who")).to_contain_text("Tài khoản Telegram chưa đặt tên")
    await page.goto(f"{base(bot)}/console/dashboard")
    await expect(page.locator("main")).to_contain_text(
        "Chưa có số dân theo phường/xã nên chưa tính được tỉ lệ"
    )


async def test_no_code_names_in_the_english_console_either(bot: Running, page: Page) -> None:
    found: dict[str, list[str]] = {}

    async def words_only(name: str) -> None:
        text = await page.inner_text("body")
        bad = [token for token in ("(undo)", "CDHT_") if token in text]  # «None chosen» is English
        if bad + CODE_LIKE.findall(text):
            found[name] = bad + CODE_LIKE.findall(text)

    await page.context.add_cookies([{"name": "cdht_lang", "value": "en", "url": base(bot)}])
    await walk(page, bot, words_only)
    assert found == {}


async def test_every_page_fits_a_390_pixel_phone(bot: Running, page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    overflow: dict[str, int] = {}

    async def fits(name: str) -> None:
        wide = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if wide > 0:
            overflow[name] = wide

    seen = await walk(page, bot, fits)
    assert len(seen) == 16
    assert overflow == {}


# -- 5. the checkbox on the line of its text -------------------------------------------------

ON_ITS_LINE = """() => [...document.querySelectorAll("input[type=checkbox]")].map(box => {
    const label = box.closest("label");
    const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    while (node && !node.textContent.trim()) node = walker.nextNode();
    const range = document.createRange();
    range.selectNodeContents(node);
    const line = range.getClientRects()[0];
    const b = box.getBoundingClientRect();
    return {text: node.textContent.trim().slice(0, 30),
            overlaps: b.top < line.bottom && b.bottom > line.top};
})"""


@pytest.mark.parametrize("width", [1280, 390])
async def test_each_confirmation_checkbox_sits_on_the_line_of_its_text(
    bot: Running, page: Page, width: int
) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await coordinator(bot.app, "777001", wards=(LE_CHAN,), name="Vũ Thị Mai", channel="telegram")
    await submitted(bot.app, "5001", EIGHTY_ONE)
    await sign_in_as(page, bot, "telegram:777001")
    await page.goto(f"{base(bot)}/console/d/{await the_declaration(bot)}")
    boxes = await page.evaluate(ON_ITS_LINE)
    assert len(boxes) == 3 + 10  # a confirmation per decision, and the ten indicators to return
    assert [box for box in boxes if not box["overlaps"]] == []

"""The campaign's lists on the web console, on both databases: an admin adds an organisation
(a second of the same name in the same ward is refused in words) and sees the list; the
reminder steps with how many people each would remind now, a step's days changed and turned
off, a new one added; a coordinator is refused both pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.domain.usecases.roles import create_invitation, hash_code, redeem
from tests.domain.usecases.test_declarations import citizen_of
from tests.handlers.web_console.http_helpers import csrf, page_text, served, sign_in

ADMIN = "telegram:900"


async def test_admins_keep_the_organisations_and_the_reminder_steps(
    tmp_path: Path, database_url: str
) -> None:
    async with served(tmp_path, database_url, ADMIN) as web:
        async with web.app.store.transaction() as uow:
            await citizen_of(uow, "late")  # registered, not started
        async with web.app.store.engine.begin() as conn:
            await conn.execute(
                text("UPDATE citizens SET registered_at = :at"),
                {"at": datetime.now(UTC) - timedelta(days=3)},
            )
        await sign_in(web, ADMIN)
        token = await csrf(web)
        form = {"csrf": token, "name": "Trường THCS Lê Chân", "ward": "11383"}
        page = page_text(await (await web.client.post("/console/orgs", data=form)).text())
        assert "Đã thêm Trường THCS Lê Chân (số 1)." in page
        page = page_text(await (await web.client.post("/console/orgs", data=form)).text())
        assert "Trường THCS Lê Chân đã có trong danh sách của phường/xã này." in page
        assert "1 Trường THCS Lê Chân Phường Lê Chân" in page
        bad = await web.client.post("/console/orgs", data={**form, "ward": "99999"})
        assert bad.status == 400
        async with web.app.store.transaction() as uow:
            assert [o.name for o in await uow.orgs.all()] == ["Trường THCS Lê Chân"]
        # its verifier, invited from the staff page's organisation list
        staff_page = await (await web.client.get("/console/staff")).text()
        assert '<option value="1">Trường THCS Lê Chân (Phường Lê Chân)</option>' in staff_page
        invited = await web.client.post(
            "/console/staff/invite", data={"csrf": token, "role": "verifier", "org": "1"}
        )
        code = re.search(r'id="code">([^<]+)<', await invited.text())
        assert invited.status == 200 and code is not None
        async with web.app.store.transaction() as uow:
            invitation = await uow.staff.invitation(hash_code(code.group(1)))
        assert invitation is not None and (invitation.role, invitation.org_id) == ("verifier", 1)
        no_org = await web.client.post(
            "/console/staff/invite", data={"csrf": token, "role": "verifier"}
        )
        assert no_org.status == 400
        assert "Chọn đơn vị cho người xác nhận của đơn vị." in page_text(await no_org.text())

        body = await (await web.client.get("/console/reminders")).text()
        page = page_text(body)
        assert "2 ngày sau khi đăng ký, nếu chưa bắt đầu tự đánh giá" in page
        registered = re.search(
            r'id="step-(\d+)"><td data-label="#">\d+</td>\s*<td[^>]*>2 ngày', body
        )
        assert registered is not None
        number = registered.group(1)
        assert f'id="count-{number}">1<' in body  # «late» registered 3 days ago
        changed = {"csrf": token, "id": number, "days": "5", "active": "yes"}
        response = await web.client.post("/console/reminders", data=changed, allow_redirects=False)
        assert response.status == 303
        body = await (await web.client.get("/console/reminders")).text()
        assert "5 ngày sau khi đăng ký" in page_text(body)
        assert f'id="count-{number}">0<' in body  # 3 days: not yet
        off = {"csrf": token, "id": number, "days": "2"}  # the box unticked: off
        await web.client.post("/console/reminders", data=off, allow_redirects=False)
        body = await (await web.client.get("/console/reminders")).text()
        assert "(đã tắt)" in page_text(body) and f'id="count-{number}">0<' in body
        new = {"csrf": token, "event": "returned", "days": "14"}
        assert (
            await web.client.post("/console/reminders", data=new, allow_redirects=False)
        ).status == 303
        again = await web.client.post("/console/reminders", data=new)
        assert again.status == 409
        assert "14 ngày sau khi hồ sơ bị trả lại" in page_text(
            await (await web.client.get("/console/reminders")).text()
        )

        now = datetime.now(UTC)
        async with web.app.store.transaction() as uow:
            given = await create_invitation(uow, "coordinator", ("11383",), "t", now, timedelta(1))
            assert (await redeem(uow, "telegram", "coord", given, now)).staff is not None
        await sign_in(web, "telegram:coord")
        for path in ("/console/orgs", "/console/reminders"):
            refused = page_text(await (await web.client.get(path)).text())
            assert "quản trị viên" in refused, path

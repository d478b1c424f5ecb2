"""Approving several declarations at once on the web console, on both databases: only those
of the coordinator's ward that passed with nothing flagged and nobody else is reviewing are
offered; the single confirmation approves each as one approval would (its own event, the
citizen told); one that changed between the list and the confirmation is left, and counted."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.records import Declaration
from bot.domain.usecases.declarations import submit
from bot.domain.usecases.roles import create_invitation, redeem
from tests.domain.usecases.test_declarations import ALL_NINE, CRITERIA, answered, citizen_of
from tests.handlers.web_console.http_helpers import csrf, page_text, served, sign_in

LE_CHAN, HONG_BANG = "11383", "11311"


async def test_only_clean_passes_are_offered_and_each_is_recorded(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime.now(UTC)
    async with served(tmp_path, database_url) as web:
        store = web.app.store
        async with store.transaction() as uow:
            for user in ("coord", "other"):
                code = await create_invitation(
                    uow, "coordinator", (LE_CHAN,), "test", now, timedelta(days=7)
                )
                assert (await redeem(uow, "telegram", user, code, now)).staff is not None
            made: dict[str, Declaration] = {}
            for key, ward, scores in (
                ("clean", LE_CHAN, ALL_NINE),
                ("clean2", LE_CHAN, ALL_NINE),
                ("adjusted", LE_CHAN, ALL_NINE),
                ("low", LE_CHAN, {**ALL_NINE, 3: 4}),  # one indicator under its minimum
                ("held", LE_CHAN, ALL_NINE),
                ("elsewhere", HONG_BANG, ALL_NINE),
            ):
                citizen = await citizen_of(uow, f"c-{key}", ward_code=ward)
                declaration = await answered(uow, citizen, scores)
                await submit(uow, citizen, declaration.id, CRITERIA, scores, now)
                made[key] = declaration
            await uow.declarations.set_verified(made["adjusted"].id, 2, 6, "thiếu minh chứng")
            other = await uow.staff.by_account("telegram", "other")
            assert other is not None  # «other» is reviewing this one now
            assert await uow.declarations.claim(made["held"].id, other.id, now, now) == other.id
        await sign_in(web, "telegram:coord")
        page = await (await web.client.get("/console/bulk")).text()
        offered = sorted(int(n) for n in re.findall(r'name="id" value="(\d+)"', page))
        assert offered == sorted([made["clean"].id, made["clean2"].id])
        assert "Xác nhận công nhận 2 hồ sơ đã chọn" in page_text(page)

        token = await csrf(web)
        unconfirmed = await web.client.post(
            "/console/bulk", data=[("csrf", token), ("id", str(made["clean"].id))]
        )
        assert unconfirmed.status == 400
        # between the list and the confirmation, «other» opens clean2; a forged id rides along
        async with store.transaction() as uow:
            assert other is not None
            assert await uow.declarations.claim(made["clean2"].id, other.id, now, now) == other.id
        form = [("csrf", token), ("confirm", "yes")] + [
            ("id", str(made[key].id)) for key in ("clean", "clean2", "elsewhere", "low")
        ]
        response = await web.client.post("/console/bulk", data=form, allow_redirects=False)
        assert response.status == 303
        note = page_text(await (await web.client.get(response.headers["Location"])).text())
        assert "Đã công nhận 1 hồ sơ; 3 hồ sơ không công nhận được" in note
        async with store.transaction() as uow:
            states = {k: (await uow.declarations.get(d.id)).status for k, d in made.items()}  # type: ignore[union-attr]
            events = await uow.declarations.events(made["clean"].id)
            due = await uow.outbox.due("telegram", now + timedelta(days=1), 100)
        told = [
            r.message.external_id
            for r in due
            if r.message.payload["text"]["key"] == "note.recognised"
        ]
        assert told == ["c-clean"]  # the citizen approved is told, as after a single approval
        assert states == {
            "clean": "recognised", "clean2": "submitted", "adjusted": "submitted",
            "low": "submitted", "held": "submitted", "elsewhere": "submitted",
        }  # fmt: skip
        last = events[-1]
        assert (last.actor, last.to_status, (last.adjusted or {}).get("via")) == (
            "telegram:coord", "recognised", "web",
        )  # fmt: skip
        # the queue shows several states at once when asked; waiting ones alone by default
        default = page_text(await (await web.client.get("/console/")).text())
        both = page_text(
            await (await web.client.get("/console/?status=recognised&status=submitted")).text()
        )
        decided_only = page_text(await (await web.client.get("/console/?status=recognised")).text())
        clean = f"#{made['clean'].id} "
        low = f"#{made['low'].id} "
        assert clean not in default and low in default
        assert clean in both and low in both and "Xác nhận đạt, đề nghị công nhận" in both
        assert clean in decided_only and low not in decided_only
        ignored = page_text(await (await web.client.get("/console/?status=draft")).text())
        assert low in ignored  # a state the queue does not show: the waiting ones, as by default

"""The web server's answers, as a browser or a platform receives them (issue 18, item 4), on
SQLite and on PostgreSQL:

- every response carries the security headers, whatever answered: a console page, aiohttp's
  own 404 and 405, an evidence image or PDF, a signed evidence link, an Excel download, the
  stylesheet, the public verification page, a redirect, a webhook's reply, a 500;
- a coordinator asking for another ward's declaration, its files, its citizen, or another
  person's broadcast gets exactly what an unknown number gets (status and page), on every such
  route, so the answer does not tell which numbers exist elsewhere; and nothing changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import ClientResponse, web

from bot.app import App
from bot.domain.records import EvidenceFile, NewCitizen
from bot.domain.usecases.broadcasts import audience, create_broadcast
from bot.services.links import LinkSigner, load_or_create_secret
from tests.chat import Chat, register
from tests.handlers.web_console.http_helpers import (
    BASE,
    WEBHOOK,
    WEBHOOK_SECRET,
    Served,
    csrf,
    page_text,
    served,
    sign_in,
)
from tests.handlers.web_console.test_console_browser import png
from tests.verification_helpers import coordinator

ADMIN = "telegram:900"
LE_CHAN, HONG_BANG = "11383", "11311"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# what every response must carry, as a browser reads it
EXPECTED = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class Ward:
    """One declaration with a photo and a PDF, submitted in a ward."""

    citizen: int
    declaration: int
    photo: str
    pdf: str


def stored(app: App, data: bytes) -> str:
    """An evidence blob on disk, where the evidence store keeps it."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = app.evidence.path(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return sha256


async def submitted_in(app: App, ward: str, name: str, account: str) -> Ward:
    now = datetime.now(UTC)
    person = NewCitizen(
        full_name=name, birth_year=1975, gender=None, phone="+84912345600", group=1,
        ward_code=ward, ward_name=ward, ward_data_version="test", residential_group="Tổ 2",
        workplace=None, guardian_consent=None, channel="telegram", locale="vi",
    )  # fmt: skip
    photo, pdf = stored(app, png()), stored(app, PDF + name.encode())
    async with app.store.transaction() as uow:
        citizen = await uow.citizens.create(person, now)
        identity = await uow.identities.create("telegram", account, "vi")
        await uow.identities.bind(identity.id, citizen.id)
        declaration = await uow.declarations.create(citizen.id, 2026, "qd324-2023", now)
        for indicator in range(1, 11):
            await uow.declarations.set_score(declaration.id, indicator, 9, now)
        files = ((photo, "photo", "image/png"), (pdf, "document", "application/pdf"))
        for sha256, kind, mime in files:
            await uow.declarations.add_evidence(
                EvidenceFile(declaration.id, 3, kind, mime, 100, sha256, None, "telegram",
                             f"f-{sha256[:8]}"),
                now,
            )  # fmt: skip
        await uow.declarations.set_status(declaration.id, "submitted", now)
    return Ward(citizen.id, declaration.id, photo, pdf)


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a handler")


@pytest.fixture
async def web_app(tmp_path: Path, database_url: str) -> AsyncIterator[Served]:
    # one route of the test's own: a handler that fails unexpectedly
    async with served(tmp_path, database_url, ADMIN, [("GET", "/boom", boom)]) as running:
        yield running


# -- security headers on every response -----------------------------------------------------


def assert_secured(response: ClientResponse, what: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (
            f"{what}: {name} = {response.headers.get(name)!r}"
        )


async def test_every_response_of_the_web_server_carries_the_security_headers(
    web_app: Served,
) -> None:
    app, client = web_app.app, web_app.client
    ward = await submitted_in(app, LE_CHAN, "Đỗ Thị Ánh", "501")
    await register(Chat(app.engine, user="502", channel="telegram"))  # someone for the lists

    signed_out = await client.get("/console/")
    assert signed_out.status == 401
    assert_secured(signed_out, "the signed-out page")
    await sign_in(web_app, ADMIN)

    async def check(what: str, response: ClientResponse, status: int, kind: str) -> None:
        await response.read()
        assert response.status == status, f"{what}: {response.status}"
        assert response.content_type == kind, f"{what}: {response.content_type}"
        assert_secured(response, what)

    await check("a console page", await client.get("/console/"), 200, "text/html")
    opened = await client.get(f"/console/d/{ward.declaration}")
    await check("a declaration", opened, 200, "text/html")
    await check("an unknown path (aiohttp's 404)", await client.get("/nowhere"), 404, "text/plain")
    await check(
        "a wrong method (aiohttp's 405)", await client.get("/console/signout"), 405, "text/plain"
    )
    await check("a number that is no number", await client.get("/console/d/abc"), 404, "text/plain")
    photo = await client.get(f"/console/file/{ward.declaration}/{ward.photo}")
    await check("an evidence image", photo, 200, "image/png")
    pdf = await client.get(f"/console/file/{ward.declaration}/{ward.pdf}")
    await check("an evidence PDF", pdf, 200, "application/pdf")
    assert pdf.headers["Content-Disposition"] == "inline"
    signer = LinkSigner(load_or_create_secret(app.settings.data_dir / "link-secret"), BASE)
    link = signer.token(ward.photo, int(datetime.now(UTC).timestamp()) + 3600)
    await check("a signed evidence link", await client.get(f"/evidence/{link}"), 200, "image/png")
    await check("a stale evidence link", await client.get("/evidence/x.y"), 403, "text/plain")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    await check("the report in Excel", await client.get("/console/report.xlsx"), 200, xlsx)
    await check("the export in Excel", await client.get("/console/export.xlsx"), 200, xlsx)
    await check("a list in Excel", await client.get("/console/list/proposed.xlsx"), 200, xlsx)
    await check("the stylesheet", await client.get("/console/static/console.css"), 200, "text/css")
    await check("the verification page", await client.get("/v/not-a-letter"), 200, "text/html")
    release = await client.post(
        f"/console/d/{ward.declaration}/release",
        data={"csrf": await csrf(web_app)},
        allow_redirects=False,
    )
    await check("a redirect", release, 303, "text/plain")
    refused = await client.post(WEBHOOK, json={"update_id": 1})
    await check("a webhook refusing a wrong secret", refused, 401, "application/octet-stream")
    taken = await client.post(
        WEBHOOK, json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    )
    await check("a webhook taking an update", taken, 200, "application/octet-stream")
    await check("an unexpected error (500)", await client.get("/boom"), 500, "text/plain")


# -- another ward's records answer as unknown ones ------------------------------------------


async def test_another_wards_records_answer_exactly_as_numbers_that_do_not_exist(
    web_app: Served,
) -> None:
    app, client = web_app.app, web_app.client
    theirs = await submitted_in(app, HONG_BANG, "Lê Văn Ất", "601")  # ward B
    mine = await submitted_in(app, LE_CHAN, "Đỗ Thị Ánh", "602")  # ward A
    async with app.store.transaction() as uow:
        admins = await create_broadcast(
            uow, "Tin của thành phố", audience(), ADMIN, datetime.now(UTC)
        )
    await coordinator(app, "700", wards=(LE_CHAN,), name="Vũ Thị Mai", channel="telegram")
    await sign_in(web_app, "telegram:700")
    token = await csrf(web_app)

    # the coordinator's own ward opens: the refusals below are about scope, nothing else
    assert (await client.get(f"/console/d/{mine.declaration}")).status == 200
    assert (await client.get(f"/console/citizens/{mine.citizen}")).status == 200
    assert (await client.get(f"/console/file/{mine.declaration}/{mine.photo}")).status == 200

    nobody = 10_000 + max(theirs.citizen, theirs.declaration, admins.id)
    form = {"csrf": token}
    decide = {**form, "action": "approve", "confirm": "yes"}
    adjust = {**form, "indicator": "3", "score": "5", "reason": "Chưa có ảnh thẻ thư viện"}
    routes: list[tuple[str, str, dict[str, str] | None, int]] = [
        ("GET", "/console/d/{}", None, theirs.declaration),
        ("POST", "/console/d/{}/adjust", adjust, theirs.declaration),
        ("POST", "/console/d/{}/decide", decide, theirs.declaration),
        ("POST", "/console/d/{}/undo", form, theirs.declaration),
        ("POST", "/console/d/{}/release", form, theirs.declaration),
        ("GET", "/console/file/{}/" + theirs.photo, None, theirs.declaration),
        ("GET", "/console/file/{}/" + theirs.pdf, None, theirs.declaration),
        ("GET", "/console/citizens/{}", None, theirs.citizen),
        ("GET", "/console/broadcasts/{}", None, admins.id),
        ("POST", "/console/broadcasts/{}/cancel", form, admins.id),
    ]
    for method, path, data, existing in routes:
        answers = []
        for number in (existing, nobody):
            response = await client.request(
                method, path.format(number), data=data, allow_redirects=False
            )
            answers.append((response.status, await response.read()))
        (status, body), unknown = answers
        assert (status, body) == unknown, f"{method} {path}: {answers[0][0]} ≠ {unknown[0]}"
        assert status == 404, f"{method} {path}"
        said = page_text(body.decode())
        if "broadcasts" in path:
            assert said == "Không có tin thông báo này, hoặc tin này do người khác soạn."
        else:
            assert said == (
                "Không tìm thấy hồ sơ này trong các phường/xã do tài khoản này phụ trách."
            )

    async with app.store.transaction() as uow:  # and nothing changed
        untouched = await uow.declarations.get(theirs.declaration)
        answers_now = await uow.declarations.answers(theirs.declaration)
        broadcast = await uow.broadcasts.get(admins.id)
    assert untouched is not None
    assert (untouched.status, untouched.claimed_by, untouched.decision) == ("submitted", None, None)
    assert answers_now[3].verified_score is None
    assert broadcast is not None and broadcast.status == "queued"

"""``/giayxacnhan``: the recognition letter of the citizen's latest recognised declaration, as a
PDF in the chat (also the button under the approval message)."""

from __future__ import annotations

from bot.engine import Answered, FlowContext, t
from bot.flows.common import local_date, services
from bot.flows.decisions import verified_total
from bot.services.letters import render_pdf
from bot.services.outbox import file_message

__all__ = ["LETTER_TEXTS", "letter_command"]

# the letter's lines, translated when it is made
LETTER_TEXTS = {
    "country": t("letter.pdf.country"),
    "motto": t("letter.pdf.motto"),
    "issuer": t("letter.pdf.issuer"),
    "title": t("letter.pdf.title"),
    "certifies": t("letter.pdf.certifies"),
    "body": t("letter.pdf.body"),
    "verify": t("letter.pdf.verify"),
    "footer": t("letter.pdf.footer"),
}


async def letter_command(ctx: FlowContext) -> Answered:
    citizen = ctx.citizen
    bundle = services(ctx)
    if citizen is None:
        return t("letter.none")
    recognised = [
        d for d in await ctx.uow.declarations.of_citizen(citizen.id) if d.status == "recognised"
    ]
    if not recognised:
        return t("letter.none")
    if bundle.letters is None or bundle.files is None or bundle.translate is None:
        return t("letter.unavailable")
    declaration = max(recognised, key=lambda d: d.year)
    answers = await ctx.uow.declarations.answers(declaration.id)
    total = verified_total(answers)
    ward = bundle.wards.name_of(citizen.ward_code, citizen.ward_name)
    letter = bundle.letters.letter(declaration, citizen, ward, total)
    say = bundle.translate
    params = {
        "name": letter.name,
        "ward": letter.ward,
        "year": letter.year,
        "total": total,
        "date": local_date(declaration.decided_at or ctx.now),
        "code": letter.token,
        "url": letter.url or "",
        "issuer": bundle.data_controller,
        "province": bundle.wards.province_name,
    }
    texts = {key: say(ctx.locale, text.key, **params) for key, text in LETTER_TEXTS.items()}
    data = render_pdf(letter, texts)
    sha256 = bundle.files.save(data)
    await ctx.uow.outbox.enqueue(
        file_message(
            ctx.identity.channel, ctx.identity.external_id, sha256, "document",
            "application/pdf", f"giay-xac-nhan-cdht-{letter.year}.pdf",
            t("letter.caption", year=letter.year), citizen_id=citizen.id,
        ),
        ctx.now,
    )  # fmt: skip
    if letter.url:
        return t("letter.sending", year=letter.year, url=letter.url)
    return t("letter.sending.no_url", year=letter.year)

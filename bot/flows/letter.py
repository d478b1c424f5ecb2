"""``/giayxacnhan``: the letter of the citizen's latest declaration that the ward verified and
proposes for recognition, as a PDF in the chat (also the button under the approval message).

A letter is made only for a declaration that was approved and whose verified scores pass the
recognition rule: an approved declaration that fails it (76/100) records «not recognised» and
gets no letter. The letter says what the ward decided (verified, proposed for recognition)
and that it does not replace the recognition decision of the competent authority."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.records import Citizen, Declaration
from bot.domain.usecases.decisions import verified_scores, verified_total
from bot.domain.usecases.notices import file_message
from bot.engine import Answered, t
from bot.flows.common import Ctx, Services, local_date, services
from bot.services.evidence import delivered_once
from bot.services.letters import Letter, render_pdf, verified_by_ward, ward_in_sentence

__all__ = ["LETTER_TEXTS", "letter_command", "letter_texts", "proposed_declaration"]

# the letter's paragraphs, translated when it is made
LETTER_TEXTS = {
    "title": t("letter.pdf.title"),
    "subtitle": t("letter.pdf.subtitle"),
    "certifies": t("letter.pdf.certifies"),
    "place": t("letter.pdf.place"),
    "body": t("letter.pdf.body"),
    "proposal": t("letter.pdf.proposal"),
    "notice": t("letter.pdf.notice"),
}
VERIFIER = t("letter.pdf.verifier")  # only when the coordinator gave a name
UNIT = t("letter.pdf.unit")  # the ward's association, inside a sentence
# with a public address: the QR code and the link; without: whom to ask
VERIFY = {True: t("letter.pdf.verify"), False: t("letter.pdf.verify.no_url")}
FOOTER = {True: t("letter.pdf.footer"), False: t("letter.pdf.footer.no_url")}
# the verification page's sentences (its template says them); listed for `make messages`
PAGE_TEXTS = (t("web.verify.statement"), t("web.verify.notice"))


async def proposed_declaration(
    ctx: Ctx, bundle: Services, citizen: Citizen
) -> tuple[Declaration, int, int] | None:
    """The citizen's latest declaration that was approved and passes the recognition rule on
    its verified scores, with its verified total and the criteria's maximum; else None."""
    found: list[tuple[Declaration, int, int]] = []
    for declaration in await ctx.uow.declarations.of_citizen(citizen.id):
        criteria = bundle.criteria.get(declaration.criteria_set)
        if declaration.status != "recognised" or criteria is None:
            continue
        answers = await ctx.uow.declarations.answers(declaration.id)
        if criteria.evaluate(verified_scores(answers)).recognised:
            found.append((declaration, verified_total(answers), criteria.max_total))
    return max(found, key=lambda item: item[0].year) if found else None


async def _verifier(ctx: Ctx, declaration: Declaration) -> str | None:
    """The name the deciding coordinator gave (never their account's id)."""
    if not declaration.decided_by:
        return None
    channel, _, external_id = declaration.decided_by.partition(":")
    member = await ctx.uow.staff.by_account(channel, external_id)
    return member.display_name if member is not None and member.display_name else None


def letter_texts(
    say: Callable[..., str],
    locale: str,
    letter: Letter,
    *,
    max_total: int,
    province: str,
    printed: datetime,
    by_ward: bool = True,
) -> dict[str, str]:
    """The letter's paragraphs in ``locale``, as ``render_pdf`` takes them: the link and the QR
    code's sentence only with a public address, the coordinator's line only with their name;
    the association that verified is the ward's, or the city's (``by_ward`` False) when the
    city's admins decided for a ward without a coordinator."""
    ward = letter.ward
    verifying = ward if by_ward else province
    params: dict[str, object] = {
        "name": letter.name,
        "ward": ward,
        "year": letter.year,
        "total": letter.total,
        "max_total": max_total,
        "date": local_date(letter.decided_at or printed),
        "printed": local_date(printed),
        "code": letter.token,
        "url": letter.url or "",
        "province": province,
        "verifier": letter.verifier or "",
        "unit": say(locale, UNIT.key, ward=ward_in_sentence(verifying, locale)),
    }
    texts = {key: say(locale, text.key, **params) for key, text in LETTER_TEXTS.items()}
    texts["verify"] = say(locale, VERIFY[letter.url is not None].key, **params)
    texts["footer"] = say(locale, FOOTER[letter.url is not None].key, **params)
    texts["verifier"] = say(locale, VERIFIER.key, **params) if letter.verifier else ""
    return texts


async def letter_command(ctx: Ctx) -> Answered:
    citizen = ctx.subject
    bundle = services(ctx)
    if citizen is None:
        return t("letter.none")
    proposed = await proposed_declaration(ctx, bundle, citizen)
    if proposed is None:
        return t("letter.none")
    if bundle.letters is None or bundle.files is None or bundle.translate is None:
        return t("letter.unavailable")
    declaration, total, max_total = proposed
    ward = bundle.wards.name_of(citizen.ward_code, citizen.ward_name)
    verifier = await _verifier(ctx, declaration)
    letter = bundle.letters.letter(declaration, citizen, ward, total, verifier)
    texts = letter_texts(
        bundle.translate,
        ctx.locale,
        letter,
        max_total=max_total,
        province=bundle.wards.province_name,
        printed=ctx.now,
        by_ward=await verified_by_ward(ctx.uow, declaration),
    )
    issuer = bundle.letters.issuer or (bundle.data_controller,)
    data = render_pdf(letter, texts, header=bundle.letters.header, issuer=issuer)
    kept = bundle.files.save(data, about=citizen.id)
    await ctx.uow.outbox.enqueue(
        delivered_once(file_message(
            ctx.identity.channel, ctx.identity.external_id, kept, "document",
            "application/pdf", f"giay-xac-nhan-cdht-{letter.year}.pdf",
            t("letter.caption", year=letter.year), citizen_id=citizen.id,
        )),
        ctx.now,
    )  # fmt: skip
    if letter.url:
        return t("letter.sending", year=letter.year, url=letter.url)
    return t("letter.sending.no_url", year=letter.year)

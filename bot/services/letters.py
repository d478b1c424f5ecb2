"""The recognition letter: a one-page PDF that says what the ward decided, no more. The
citizen's self-assessment for the year was verified by the ward's learning promotion
association, which proposes the citizen for recognition; the title itself is awarded by the
competent authority, and the letter says that it does not replace that decision (DOMAIN.md,
"Who decides what"). With a public address, a QR code leads to the verification page.

A letter is named by a token ``<declaration id>.<HMAC>`` whose HMAC covers the fields printed
on it (declaration, citizen, name, ward, year), with the server's link-signing key: an id alone
opens nothing, and a letter whose citizen was deleted, whose name or ward changed, or whose
decision was undone no longer verifies. The page shows only name, ward, year and status.

The head of the letter is configuration (``CDHT_LETTER_ISSUER``, ``CDHT_LETTER_HEADER``): who
issues it and the lines above the title, none by default. Every line is wrapped inside the
frame, and the whole is scaled down when long names and lines would not fit on the page.

PDF: fpdf2 with DejaVu Serif (shipped in ``data/fonts``: the Vietnamese letters need a font
that has them, and the server may have none); the QR code (segno) is drawn as squares, no
image library involved.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from fpdf import FPDF

from bot.domain.calendar import local_date
from bot.domain.permissions import signs_for_ward
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration

__all__ = [
    "FRAME",
    "Letter",
    "LetterSigner",
    "Verified",
    "render_pdf",
    "verified_by_ward",
    "ward_in_sentence",
]

FONTS = Path(__file__).resolve().parent / "data" / "fonts"
_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{24})", re.ASCII)

# The level words of a unit's name, written in lower case inside a Vietnamese sentence
# ("Hội Khuyến học phường Lê Chân": Nghị định 30/2020/NĐ-CP, appendix II, on capitals).
_LEVELS = ("Phường", "Xã", "Đặc khu", "Thị trấn", "Thị xã", "Thành phố", "Quận", "Huyện")


async def verified_by_ward(uow: UnitOfWork, declaration: Declaration) -> bool:
    """Whether a coordinator of the ward decided (else the city association's admins did, for a
    ward with no coordinator): the letter and its page name who verified, no one else."""
    if not declaration.decided_by:
        return False
    channel, _, external_id = declaration.decided_by.partition(":")
    member = await uow.staff.by_account(channel, external_id)
    return member is not None and signs_for_ward(member.role)


def ward_in_sentence(ward: str, locale: str) -> str:
    """A unit's name as it is written inside a sentence: "Phường Lê Chân" → "phường Lê Chân"
    in Vietnamese; unchanged in English."""
    if locale == "vi":
        for level in _LEVELS:
            if ward.startswith(level + " "):
                return level.lower() + ward[len(level) :]
    return ward


@dataclass(frozen=True, slots=True)
class Letter:
    token: str
    name: str  # the citizen's full name exactly as stored
    ward: str
    year: int
    total: int | None
    decided_at: datetime | None
    url: str | None  # the verification page, when the server has a public address
    verifier: str | None = None  # the name the deciding coordinator gave, if they gave one


@dataclass(frozen=True, slots=True)
class Verified:
    valid: bool
    name: str = ""
    ward: str = ""
    year: int = 0
    status: str = ""  # recognised, or what it is now
    decided_at: datetime | None = None
    by_ward: bool = True  # a coordinator of the ward verified (else the city association)

    def ward_in_sentence(self, locale: str) -> str:
        return ward_in_sentence(self.ward, locale)

    @property
    def decided_on(self) -> str:
        """The decision's date in Viet Nam, dd/mm/yyyy."""
        return local_date(self.decided_at) if self.decided_at else ""


class LetterSigner:
    """Signs and verifies letters; holds the letter's configured head (``issuer``: who issues
    it, empty for the data controller; ``header``: the lines above the title)."""

    def __init__(
        self,
        key: bytes,
        base_url: str | None,
        issuer: Sequence[str] = (),
        header: Sequence[str] = (),
    ) -> None:
        self._key = hashlib.sha256(b"letter:" + key).digest()  # not the evidence links' key
        self.base_url = base_url.rstrip("/") if base_url else None
        self.issuer = tuple(issuer)
        self.header = tuple(header)

    def _mac(self, declaration: Declaration, citizen: Citizen) -> str:
        fields = f"{declaration.id}|{citizen.id}|{citizen.full_name}|{citizen.ward_code}|"
        fields += f"{declaration.year}"
        return hmac.new(self._key, fields.encode(), hashlib.sha256).hexdigest()[:24]

    def letter(
        self,
        declaration: Declaration,
        citizen: Citizen,
        ward: str,
        total: int,
        verifier: str | None = None,
    ) -> Letter:
        token = f"{declaration.id}.{self._mac(declaration, citizen)}"
        url = f"{self.base_url}/v/{token}" if self.base_url else None
        return Letter(
            token,
            citizen.full_name,
            ward,
            declaration.year,
            total,
            declaration.decided_at,
            url,
            verifier,
        )

    async def verify(self, uow: UnitOfWork, token: str) -> Verified:
        match = _TOKEN.fullmatch(token)
        if match is None:
            return Verified(False)
        declaration = await uow.declarations.get(int(match.group(1)))
        citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
        if declaration is None or citizen is None:
            return Verified(False)  # erased, or never was
        if not hmac.compare_digest(match.group(2), self._mac(declaration, citizen)):
            return Verified(False)
        return Verified(
            declaration.status == "recognised",
            citizen.full_name,
            citizen.ward_name,
            declaration.year,
            declaration.status,
            declaration.decided_at,
            await verified_by_ward(uow, declaration),
        )


# -- the page ------------------------------------------------------------------------------

PAGE = (210.0, 297.0)  # A4, mm
FRAME = (13.0, 13.0, 197.0, 284.0)  # the inner frame (x0, y0, x1, y1): all text stays inside
_LEFT, _RIGHT = 22.0, 188.0  # where lines may run
_TOP, _BOTTOM = 22.0, 279.0
_RED = (150, 40, 40)
_PT = 25.4 / 72  # one point in mm
_LEADING = 1.35  # line height / font size
_QR = 34.0  # the QR code's side, mm


@dataclass(frozen=True, slots=True)
class _Block:
    """A paragraph of the letter: centred, wrapped inside the frame."""

    text: str
    size: float  # points
    gap: float = 0.0  # mm above it
    bold: bool = False
    color: tuple[int, int, int] = (0, 0, 0)
    stretch: bool = False  # its gap takes a share of the room left over


def render_pdf(
    letter: Letter,
    texts: Mapping[str, str],
    header: Sequence[str] = (),
    issuer: Sequence[str] = (),
) -> bytes:
    """One A4 page. ``texts``: the translated paragraphs (title, subtitle, certifies, place,
    body, verifier (may be empty), proposal, notice, verify, footer), so that wording lives in
    the catalogs; ``header``: the lines above the issuer (none by default); ``issuer``: who
    issues the letter, one or more lines."""
    _quiet_font_subsetting()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_LEFT, _TOP, PAGE[0] - _RIGHT)
    pdf.add_font("Serif", "", str(FONTS / "DejaVuSerif.ttf"))
    pdf.add_font("Serif", "B", str(FONTS / "DejaVuSerif-Bold.ttf"))
    pdf.set_title(texts["title"])
    pdf.set_author(" ".join(issuer))
    pdf.add_page()
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 190, 277)
    pdf.set_line_width(0.3)
    pdf.rect(FRAME[0], FRAME[1], FRAME[2] - FRAME[0], FRAME[3] - FRAME[1])

    # from the bottom up: the footer, then the verification (text, and the QR code if any)
    width = _RIGHT - _LEFT
    footer = _Block(texts["footer"], 8.5)
    footer_top = _BOTTOM - _height(pdf, footer, width)
    verify = _Block(texts["verify"], 10)
    verify_width = width - _QR - 6 if letter.url else width
    verify_top = footer_top - 5 - max(_height(pdf, verify, verify_width), _QR if letter.url else 0)
    _draw(pdf, footer, footer_top, _LEFT, width, align="C")
    _draw(pdf, verify, verify_top, _LEFT, verify_width, align="L" if letter.url else "C")
    if letter.url:
        _qr(pdf, letter.url, x=_RIGHT - _QR, y=verify_top, size=_QR)

    # from the top down, scaled to the room left above the verification
    blocks = [
        *(_Block(line, 11, bold=True) for line in header),
        *(_Block(line, 12, gap=5 if header and i == 0 else 0, bold=True)
          for i, line in enumerate(issuer)),
        _Block(texts["title"], 24, gap=14, bold=True, color=_RED, stretch=True),
        _Block(texts["subtitle"], 13, gap=1),
        _Block(texts["certifies"], 12, gap=10, stretch=True),
        _Block(letter.name, 22, gap=1, bold=True),
        _Block(texts["place"], 13, gap=1),
        _Block(texts["body"], 12, gap=9, stretch=True),
        *((_Block(texts["verifier"], 12, gap=2),) if texts.get("verifier") else ()),
        _Block(texts["proposal"], 12, gap=5, bold=True),
        _Block(texts["notice"], 11, gap=5),
    ]  # fmt: skip
    room = verify_top - 6 - _TOP
    scale = 1.0
    while scale > 0.5 and _stack_height(pdf, blocks, scale, width) > room:
        scale -= 0.05
    spare = room - _stack_height(pdf, blocks, scale, width)
    extra = min(spare / 4, 12.0) if spare > 0 else 0.0
    y = _TOP
    for block in blocks:
        gap = block.gap * scale + (extra if block.stretch else 0.0)
        scaled = _Block(block.text, block.size * scale, gap, block.bold, block.color)
        y = _draw(pdf, scaled, y + scaled.gap, _LEFT, width, align="C")
    return bytes(pdf.output())


def _line_height(block: _Block) -> float:
    return block.size * _PT * _LEADING


def _font(pdf: FPDF, block: _Block) -> None:
    pdf.set_font("Serif", "B" if block.bold else "", block.size)
    pdf.set_text_color(*block.color)


def _height(pdf: FPDF, block: _Block, width: float) -> float:
    # multi_cell(dry_run=True, output="HEIGHT") measures without drawing:
    # https://py-pdf.github.io/fpdf2/fpdf/fpdf.html#fpdf.fpdf.FPDF.multi_cell
    _font(pdf, block)
    height = pdf.multi_cell(width, _line_height(block), block.text, dry_run=True, output="HEIGHT")
    assert isinstance(height, float | int)
    return float(height)


def _stack_height(pdf: FPDF, blocks: Sequence[_Block], scale: float, width: float) -> float:
    total = 0.0
    for block in blocks:
        scaled = _Block(block.text, block.size * scale, block.gap * scale, block.bold)
        total += scaled.gap + _height(pdf, scaled, width)
    return total


def _draw(pdf: FPDF, block: _Block, y: float, x: float, width: float, align: str) -> float:
    """Draws a paragraph from ``y``; where the next one may start."""
    _font(pdf, block)
    pdf.set_xy(x, y)
    pdf.multi_cell(
        width, _line_height(block), block.text, align=align, new_x="LMARGIN", new_y="NEXT"
    )
    return float(pdf.get_y())


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    code = segno.make(url, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    cell = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + c * cell, y + r * cell, cell, cell, style="F")


def _quiet_font_subsetting() -> None:
    """fpdf2 subsets the font with fontTools, which logs each step at INFO: about 75 lines a
    letter, in the terminal of ``cdht console`` among the chat (fpdf2's documentation lists
    them: https://py-pdf.github.io/fpdf2/Logging.html, "fonttools verbose logs"). They are not
    news here: the ``fontTools`` logger keeps its warnings, unless an operator set its level."""
    logger = logging.getLogger("fontTools")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)

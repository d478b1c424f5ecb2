"""The recognition letter: a one-page PDF in Vietnamese with the citizen's name, ward, year and
result, and a QR code to the public verification page.

A letter is named by a token ``<declaration id>.<HMAC>`` whose HMAC covers the fields printed
on it (declaration, citizen, name, ward, year), with the server's link-signing key: an id alone
opens nothing, and a letter whose citizen was deleted, whose name or ward changed, or whose
decision was undone no longer verifies. The page shows only name, ward, year and status.

PDF: fpdf2 with DejaVu Serif (shipped in ``data/fonts``: the Vietnamese letters need a font
that has them, and the server may have none); the QR code (segno) is drawn as squares, no
image library involved.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from fpdf import FPDF

from bot.engine.ports import Citizen, Declaration, UnitOfWork

__all__ = ["Letter", "LetterSigner", "Verified", "render_pdf"]

FONTS = Path(__file__).resolve().parent / "data" / "fonts"
_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{24})", re.ASCII)


@dataclass(frozen=True, slots=True)
class Letter:
    token: str
    name: str
    ward: str
    year: int
    total: int | None
    decided_at: datetime | None
    url: str | None  # the verification page, when the server has a public address


@dataclass(frozen=True, slots=True)
class Verified:
    valid: bool
    name: str = ""
    ward: str = ""
    year: int = 0
    status: str = ""  # recognised, or what it is now


class LetterSigner:
    def __init__(self, key: bytes, base_url: str | None) -> None:
        self._key = hashlib.sha256(b"letter:" + key).digest()  # not the evidence links' key
        self.base_url = base_url.rstrip("/") if base_url else None

    def _mac(self, declaration: Declaration, citizen: Citizen) -> str:
        fields = f"{declaration.id}|{citizen.id}|{citizen.full_name}|{citizen.ward_code}|"
        fields += f"{declaration.year}"
        return hmac.new(self._key, fields.encode(), hashlib.sha256).hexdigest()[:24]

    def letter(self, declaration: Declaration, citizen: Citizen, ward: str, total: int) -> Letter:
        token = f"{declaration.id}.{self._mac(declaration, citizen)}"
        url = f"{self.base_url}/v/{token}" if self.base_url else None
        return Letter(
            token, citizen.full_name, ward, declaration.year, total, declaration.decided_at, url
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
        )


def render_pdf(letter: Letter, texts: dict[str, str]) -> bytes:
    """One A4 page. ``texts``: the translated lines (title, body, footer …), so that wording
    lives in the catalogs."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("Serif", "", str(FONTS / "DejaVuSerif.ttf"))
    pdf.add_font("Serif", "B", str(FONTS / "DejaVuSerif-Bold.ttf"))
    pdf.set_title(texts["title"])
    pdf.set_author(texts["issuer"])
    pdf.add_page()
    pdf.set_draw_color(150, 40, 40)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 190, 277)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, 184, 271)
    pdf.set_font("Serif", "B", 12)
    pdf.set_y(24)
    pdf.cell(0, 7, texts["country"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Serif", "", 11)
    pdf.cell(0, 6, texts["motto"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Serif", "", 12)
    pdf.set_y(50)
    pdf.cell(0, 7, texts["issuer"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(150, 40, 40)
    pdf.set_font("Serif", "B", 26)
    pdf.set_y(75)
    pdf.cell(0, 14, texts["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Serif", "", 13)
    pdf.set_y(100)
    pdf.cell(0, 8, texts["certifies"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Serif", "B", 22)
    pdf.cell(0, 16, letter.name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Serif", "", 13)
    pdf.set_x(25)
    pdf.multi_cell(160, 8, texts["body"], align="C")
    pdf.set_font("Serif", "", 11)
    pdf.set_y(200)
    pdf.set_x(25)
    pdf.multi_cell(100, 6, texts["verify"], align="L")
    if letter.url:
        _qr(pdf, letter.url, x=145, y=190, size=40)
    pdf.set_font("Serif", "", 9)
    pdf.set_y(262)
    pdf.cell(0, 5, texts["footer"], align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    code = segno.make(url, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    cell = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + c * cell, y + r * cell, cell, cell, style="F")

"""Reading a letter as its reader does, from the PDF alone (pypdf): the lines of text top to
bottom, each with its box on the page, the frame drawn around them and the QR code's squares.

Positions come from the text matrices pypdf reports; a line's width from the embedded font's
own widths (the CID font's /W array, reached through its /ToUnicode map) and its height from
the font descriptor's ascent and descent: the PDF's geometry, not the renderer's intentions.
Boxes are in millimetres from the page's top-left corner."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject

MM = 25.4 / 72  # one point in mm


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def inside(self, other: Box) -> bool:
        return (
            other.x0 <= self.x0 and self.x1 <= other.x1 and other.y0 <= self.y0
            and self.y1 <= other.y1
        )  # fmt: skip

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1
            and other.y0 < self.y1
        )  # fmt: skip


@dataclass(frozen=True)
class Line:
    text: str
    box: Box
    size: float  # points
    bold: bool


@dataclass(frozen=True)
class ReadLetter:
    pages: int
    lines: list[Line]  # top to bottom
    frames: list[Box]  # stroked rectangles, largest first
    squares: list[Box]  # filled rectangles: the QR code's modules

    @property
    def text(self) -> str:
        """What a reader reads, top to bottom, the wrapped lines joined with single spaces."""
        return " ".join(" ".join(line.text for line in self.lines).split())

    @property
    def frame(self) -> Box:
        """The inner frame: the smallest rectangle drawn around the page's content."""
        return self.frames[-1]


def _font_metrics(font: Any) -> tuple[dict[str, float], float, float]:
    """(width of each character in 1/1000 em, ascent, descent) of an embedded Type0 font."""
    font = font.get_object()
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    cid_of: dict[str, int] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for cid, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            cid_of[bytes.fromhex(uni).decode("utf-16-be")] = int(cid, 16)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for first, last, uni in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            for offset in range(int(last, 16) - int(first, 16) + 1):
                cid_of[chr(int(uni, 16) + offset)] = int(first, 16) + offset
    descendant = font["/DescendantFonts"][0].get_object()
    default = float(descendant.get("/DW", 1000))
    listed = descendant.get("/W", ArrayObject())
    widths: dict[int, float] = {}
    i = 0
    while i < len(listed):
        first, following = int(listed[i]), listed[i + 1]
        if isinstance(following, list):  # c [w1 w2 …]
            for offset, width in enumerate(following):
                widths[first + offset] = float(width)
            i += 2
        else:  # c_first c_last w
            for cid in range(first, int(following) + 1):
                widths[cid] = float(listed[i + 2])
            i += 3
    descriptor = descendant["/FontDescriptor"].get_object()
    char_widths = {ch: widths.get(cid, default) for ch, cid in cid_of.items()}
    return char_widths, float(descriptor["/Ascent"]), float(descriptor["/Descent"])


def read_letter(data: bytes) -> ReadLetter:
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    height = float(page.mediabox.height)
    resources: Any = page["/Resources"]
    fonts = resources["/Font"]
    metrics = {str(font.get_object()["/BaseFont"]): _font_metrics(font) for font in fonts.values()}
    lines: list[Line] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip() or font is None:
            return
        name = str(font["/BaseFont"])
        widths, ascent, descent = metrics[name]
        missing = [ch for ch in text if ch not in widths]
        assert not missing, f"characters the font does not map: {missing}"
        x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
        y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        width = sum(widths[ch] for ch in text) / 1000 * size
        box = Box(
            x * MM,
            (height - y - ascent / 1000 * size) * MM,
            (x + width) * MM,
            (height - y - descent / 1000 * size) * MM,
        )
        lines.append(Line(text, box, size, "Bold" in name))

    page.extract_text(visitor_text=visit)
    frames: list[Box] = []
    squares: list[Box] = []
    pending: Box | None = None
    for operands, operator in page.get_contents().operations:  # type: ignore[union-attr]
        if operator == b"re":
            x, y, w, h = (float(value) for value in operands)
            pending = Box(
                min(x, x + w) * MM,
                (height - max(y, y + h)) * MM,
                max(x, x + w) * MM,
                (height - min(y, y + h)) * MM,
            )
        elif operator in (b"S", b"s") and pending is not None:
            frames.append(pending)
            pending = None
        elif operator in (b"f", b"F", b"f*") and pending is not None:
            squares.append(pending)
            pending = None
    frames.sort(key=lambda box: (box.x1 - box.x0) * (box.y1 - box.y0), reverse=True)
    lines.sort(key=lambda line: (round(line.box.y0, 1), line.box.x0))
    return ReadLetter(len(reader.pages), lines, frames, squares)


def assert_fits(read: ReadLetter) -> None:
    """One page; every line inside the inner frame, none over another or over the QR code."""
    assert read.pages == 1
    frame = read.frame
    outside = [line.text for line in read.lines if not line.box.inside(frame)]
    assert not outside, f"outside the frame {frame}: {outside}"
    for i, line in enumerate(read.lines):
        for other in read.lines[i + 1 :]:
            assert not line.box.overlaps(other.box), (line.text, other.text)
    if read.squares:
        qr = read.squares
        code = Box(
            min(s.x0 for s in qr), min(s.y0 for s in qr), max(s.x1 for s in qr),
            max(s.y1 for s in qr),
        )  # fmt: skip
        assert code.inside(frame)
        assert not [line.text for line in read.lines if line.box.overlaps(code)]

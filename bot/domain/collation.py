"""Vietnamese dictionary order for names of units and people: «Ái Quốc» before «Việt Hòa»,
not code-point order. Built on first use (pyuca reads its table: ~0.5 s), so a start-up that
sorts nothing pays nothing."""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

import pyuca

__all__ = ["collation_key"]


@functools.cache
def _vietnamese_collator() -> Any:
    """pyuca's Unicode Collation Algorithm (DUCET 9.0, https://www.unicode.org/reports/tr10/)
    with CLDR's Vietnamese tailoring (common/collation/vi.xml, "standard"):
    ``&̀<<̉<<̃<<́<<̣ &a<ă<<<Ă<â<<<Â &d<đ<<<Đ &e<ê<<<Ê &o<ô<<<Ô<ơ<<<Ơ &u<ư<<<Ư``.
    DUCET alone treats ă â ê ô ơ ư đ as a/e/o/u/d with an accent (a secondary difference, so
    «Bắc» before «Bạch», «Ơn» before «Ông») and orders tones acute < grave < tilde < hook <
    dot below. pyuca looks its table up after NFD (``Collator.sort_key``), unblocked
    combining marks included, so a letter is tailored by its decomposed form; a tailored
    primary sits between its base's weight and the next integer one (a float: Python compares
    the keys' tuples, nothing else reads them)."""
    collator = pyuca.Collator()
    table = collator.table

    def element(text: str) -> list[Any]:
        found: list[list[Any]] = table.find_prefix([ord(ch) for ch in text])[1]
        return list(found[0])

    grave = element("\u0300")[1]  # &̀<<̉<<̃<<́<<̣ : hook, tilde, acute, dot below after grave
    for step, mark in enumerate("\u0309\u0303\u0301\u0323", start=1):
        table.add([ord(mark)], [[0, grave + step / 5, element(mark)[2]]])
    for letters in ("aăâ", "dđ", "eê", "oôơ", "uư"):  # &a<ă<<<Ă<â<<<Â …: letters of their own
        for step, letter in enumerate(letters[1:], start=1):
            for base, tailored in ((letters[0], letter), (letters[0].upper(), letter.upper())):
                primary, secondary, tertiary = element(base)
                key = [ord(ch) for ch in unicodedata.normalize("NFD", tailored)]
                table.add(key, [[primary + step / len(letters), secondary, tertiary]])
    return collator


@functools.lru_cache(maxsize=4096)  # the same unit names in every report: ~25 µs each
def collation_key(text: str) -> tuple[Any, ...]:
    """A sort key putting Vietnamese text in dictionary order: «Ái Quốc» before «Việt Hòa»,
    «An Tiến» before «Ân Thi», «Dương» before «Đa», «Hòa» before «Hóa»."""
    return (_vietnamese_collator().sort_key(text), text)

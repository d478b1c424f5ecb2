"""The province's commune-level units, and a forgiving search over their names."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from bot.engine.matching import fold

__all__ = ["CORRECTED_CODES", "MAX_QUERY", "Ward", "WardDirectory", "WardsFileError"]

MAX_QUERY = 60  # characters; the longest unit name with its kind is under 30
# Words people put before a name; they say nothing about which unit is meant.
_PREFIXES = ("thanh pho", "dac khu", "phuong", "thi tran", "xa", "tp", "p", "x")
# Words that begin the district a unit was in before 2025 («…, quận Lê Chân»).
_DISTRICT_WORDS = frozenset({"quan", "huyen", "thi", "q", "h"})


@dataclass(frozen=True, slots=True)
class Ward:
    code: str
    name: str  # official name with its kind, e.g. "Phường Lê Chân"
    kind: str  # "phường", "xã", "đặc khu"


def _strip_prefix(folded: str) -> str:
    for prefix in _PREFIXES:
        if folded == prefix:
            return ""
        if folded.startswith(prefix + " "):
            return folded[len(prefix) + 1 :]
    return folded


@dataclass(frozen=True, slots=True)
class _Entry:
    ward: Ward
    bare: str  # folded name without its kind
    words: tuple[str, ...]
    letters: Counter[str]  # for a quick bound on the fuzzy match


DATA = Path(__file__).resolve().parent / "data"
# Units whose code vietnam-provinces 2025.10.1 (what Python 3.11 installs) has wrong, and the
# code the official list (vietnam-provinces 2026.9.0) gives them; see data/wards-31.csv.
CORRECTED_CODES = {"10510": "10507", "10540": "10891", "10672": "10837", "10777": "10792",
                   "11341": "11329"}  # fmt: skip
SHIPPED_VERSION = "vietnam-provinces:2026-09-20"


class WardsFileError(ValueError):
    """A list of units (or of former names) that cannot be used; the message names the file
    and says what is wrong in plain words."""


def _read(path: Path) -> bytes:
    """An operator's file; a missing or unreadable one raises ``OSError``, which the caller
    (``bot.app``: a configuration error naming the setting) turns into words."""
    return path.read_bytes()


def _rows(raw: bytes, path: Path, required: set[str]) -> list[dict[str, str]]:
    columns = ",".join(sorted(required))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WardsFileError(
            f'{path}: not UTF-8 text (save it from the spreadsheet as "CSV UTF-8")'
        ) from None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise WardsFileError(f"{path}: the file is empty; it needs the columns {columns}")
    # a spreadsheet set to Vietnamese (decimal comma) saves its CSV with semicolons
    delimiter = ";" if ";" in lines[0] and "," not in lines[0] else ","
    header = [name.strip() for name in next(csv.reader(lines[:1], delimiter=delimiter))]
    if not required <= set(header):
        missing = ",".join(sorted(required - set(header)))
        raise WardsFileError(
            f"{path}: the first line must name the columns {columns} (missing: {missing})"
        )
    rows = list(csv.DictReader(lines[1:], fieldnames=header, restval="", delimiter=delimiter))
    if not rows:
        raise WardsFileError(f"{path}: has its column names but no rows")
    return rows


class WardDirectory:
    def __init__(
        self,
        wards: Sequence[Ward],
        data_version: str,
        province_name: str,
        aliases: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``aliases``: (a former unit's name, the code of the unit it became part of)."""
        self.data_version = data_version
        self.province_name = province_name
        self._entries = tuple(
            _Entry(ward, bare, tuple(bare.split()), Counter(bare))
            for ward in wards
            for bare in [_strip_prefix(fold(ward.name))]
        )
        self._by_code = {ward.code: ward for ward in wards}
        self._aliases = tuple(
            _Entry(self._by_code[code], bare, tuple(bare.split()), Counter(bare))
            for name, code in aliases
            if code in self._by_code
            for bare in [_strip_prefix(fold(name))]
        )
        # The list never changes and citizens of one ward type the same few names: a search
        # costs ~2 ms (difflib), a repeated one nothing. Bounded; keyed by the folded query.
        self._ranked = lru_cache(maxsize=2048)(self._rank)

    @classmethod
    def from_package(cls, province_code: int) -> WardDirectory:
        """The province's units: for Hải Phòng the shipped official list with the former units'
        names; for another province, what the installed vietnam-provinces holds."""
        import vietnam_provinces as vp

        province = vp.ProvinceCode(province_code)
        name = vp.Province.from_code(province).name
        shipped = DATA / f"wards-{province_code}.csv"
        if shipped.exists():
            found = cls.from_csv(shipped, name, DATA / f"ward-aliases-{province_code}.csv")
            found.data_version = SHIPPED_VERSION
            return found
        wards = [
            Ward(str(int(w.code)), w.name, str(w.division_type.value))
            for w in vp.Ward.iter_by_province(province)
        ]
        return cls(
            sorted(wards, key=lambda w: w.name), f"vietnam-provinces:{vp.__data_version__}", name
        )

    @classmethod
    def from_csv(cls, path: Path, province_name: str, aliases: Path | None = None) -> WardDirectory:
        """An operator's list: columns ``code,name`` and optionally ``kind``; ``aliases`` a file
        of former units (``old_name,code``, and optionally ``old_district``)."""
        raw = _read(path)
        wards = [
            Ward(row["code"].strip(), row["name"].strip(), (row.get("kind") or "").strip())
            for row in _rows(raw, path, {"code", "name"})
            if row["code"].strip() and row["name"].strip()
        ]
        if not wards:
            raise WardsFileError(f"{path}: no row has both a code and a name")
        digest = hashlib.sha256(raw).hexdigest()[:12]
        return cls(wards, f"csv:{path.name}:{digest}", province_name, cls.read_aliases(aliases))

    @staticmethod
    def read_aliases(path: Path | None, required: bool = False) -> list[tuple[str, str]]:
        """Former units' names from a file; a shipped file may be absent (``required`` is for
        an operator's, which must be there)."""
        if path is None or (not required and not path.exists()):
            return []
        rows = _rows(_read(path), path, {"old_name", "code"})
        return [(row["old_name"].strip(), row["code"].strip()) for row in rows]

    def with_aliases(self, path: Path) -> WardDirectory:
        """The same units, with an operator's file of former names added."""
        extra = [(entry.bare, entry.ward.code) for entry in self._aliases]
        wards = [entry.ward for entry in self._entries]
        combined = WardDirectory(
            wards,
            self.data_version,
            self.province_name,
            [*extra, *self.read_aliases(path, required=True)],
        )
        return combined

    def current_code(self, code: str) -> str:
        """A unit's code as this list has it (a code of 2025.10.1 that changed, mapped)."""
        return code if code in self._by_code else CORRECTED_CODES.get(code, code)

    def __len__(self) -> int:
        return len(self._entries)

    def all(self) -> tuple[Ward, ...]:
        return tuple(entry.ward for entry in self._entries)

    def get(self, code: str) -> Ward | None:
        return self._by_code.get(code)

    def name_of(self, code: str, otherwise: str | None = None) -> str:
        """A unit's name by its code, an outdated code included; ``otherwise`` (else the code)
        for a code the list does not have."""
        ward = self._by_code.get(self.current_code(code))
        return ward.name if ward else otherwise or code

    def exact(self, query: str) -> Ward | None:
        """The one unit whose name is exactly what was typed (kind word and accents aside)."""
        bare = _strip_prefix(fold(query))
        found = [entry.ward for entry in self._entries if entry.bare == bare]
        return found[0] if len(found) == 1 else None

    def search(self, query: str, limit: int = 6) -> list[Ward]:
        """Best matches first; accent- and case-insensitive, tolerant of a kind word and typos,
        and of a former unit's name ("Hàng Kênh" finds the unit it became part of). Only the
        first ``MAX_QUERY`` characters count: fuzzy matching costs grow with the query's length,
        and no unit's name is half as long."""
        typed = fold(query[:MAX_QUERY])
        cleaned = self._without_places_around(typed)
        if cleaned != typed and not self._names(typed):  # «Dương Quan» is a name: kept whole
            return list(self._ranked(cleaned, limit) or self._ranked(typed, limit))
        return list(self._ranked(typed, limit))

    def _names(self, typed: str) -> bool:
        """Whether the words typed are (the start of) a unit's or a former unit's name."""
        bare = _strip_prefix(typed)
        return any(
            entry.bare.startswith(bare) or f" {bare}" in f" {entry.bare}"
            for entry in (*self._entries, *self._aliases)
        )

    def _without_places_around(self, typed: str) -> str:
        """What people add around a unit's name, dropped: the district it was in («phường Trại
        Cau, quận Lê Chân») and the province («lê chân hải phòng», «… tp hp»)."""
        words = typed.split()
        for cut, word in enumerate(words):
            if cut and word in _DISTRICT_WORDS:
                words = words[:cut]
                break
        province = _strip_prefix(fold(self.province_name)).split()
        for tail in (["thanh", "pho", *province], ["tp", *province], province, ["tp", "hp"],
                     ["hp"]):  # fmt: skip
            if len(words) > len(tail) and words[-len(tail) :] == tail:
                words = words[: -len(tail)]
                break
        return " ".join(words)

    def _rank(self, typed: str, limit: int) -> tuple[Ward, ...]:
        bare = _strip_prefix(typed)
        if not bare:
            return ()
        best: dict[str, tuple[float, Ward]] = {}
        letters = Counter(bare)
        for entry, penalty in [*((e, 0.0) for e in self._entries),
                               *((e, 0.05) for e in self._aliases)]:  # fmt: skip
            if not self._may_match(bare, letters, entry, 0.75 + penalty):
                continue
            score = self._score(bare, typed, entry) - penalty  # a current name ranks first
            if score >= 0.75 and score > best.get(entry.ward.code, (0.0, entry.ward))[0]:
                best[entry.ward.code] = (score, entry.ward)
        scored = sorted(best.values(), key=lambda item: (-item[0], item[1].name))
        return tuple(ward for _, ward in scored[:limit])

    @staticmethod
    def _may_match(bare: str, letters: Counter[str], entry: _Entry, needed: float) -> bool:
        """Whether the entry could score ``needed``: an upper bound of difflib's ratio from the
        letters the two share (its quick_ratio), for the whole name and for its head; most
        entries stop here, without the costly matching (40 ms a search before, profiled)."""
        if entry.bare.startswith(bare) or f" {bare}" in f" {entry.bare}":
            return True
        shared = sum(min(count, entry.letters[letter]) for letter, count in letters.items())
        whole = 2 * shared / (len(bare) + len(entry.bare))
        head = 2 * shared / (len(bare) + min(len(bare), len(entry.bare)))
        return whole >= needed or (len(bare) >= 3 and head - 0.05 >= needed)

    @staticmethod
    def _score(bare: str, typed: str, entry: _Entry) -> float:
        if bare == entry.bare:
            # "xa an lao" should rank Xã An Lão above Phường An Lão
            kind = fold(entry.ward.kind)
            return 2.0 if kind and typed.startswith(kind) else 1.9
        if entry.bare.startswith(bare):
            return 1.5
        if f" {bare}" in f" {entry.bare}":
            return 1.3
        ratio = SequenceMatcher(None, bare, entry.bare).ratio()
        if len(bare) >= 3:
            # a typo in a prefix of the name: compare with the same number of characters
            head = SequenceMatcher(None, bare, entry.bare[: len(bare)]).ratio()
            ratio = max(ratio, head - 0.05)
        return ratio

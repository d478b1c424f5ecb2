"""The province's commune-level units, and a forgiving search over their names."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from bot.engine.matching import fold

__all__ = ["MAX_QUERY", "Ward", "WardDirectory"]

MAX_QUERY = 60  # characters; the longest unit name with its kind is under 30
# Words people put before a name; they say nothing about which unit is meant.
_PREFIXES = ("thanh pho", "dac khu", "phuong", "thi tran", "xa", "tp", "p", "x")


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


class WardDirectory:
    def __init__(self, wards: Sequence[Ward], data_version: str, province_name: str) -> None:
        self.data_version = data_version
        self.province_name = province_name
        self._entries = tuple(
            _Entry(ward, bare, tuple(bare.split()))
            for ward in wards
            for bare in [_strip_prefix(fold(ward.name))]
        )
        self._by_code = {ward.code: ward for ward in wards}

    @classmethod
    def from_package(cls, province_code: int) -> WardDirectory:
        import vietnam_provinces as vp

        province = vp.ProvinceCode(province_code)
        wards = [
            Ward(str(int(w.code)), w.name, str(w.division_type.value))
            for w in vp.Ward.iter_by_province(province)
        ]
        name = vp.Province.from_code(province).name
        return cls(
            sorted(wards, key=lambda w: w.name), f"vietnam-provinces:{vp.__data_version__}", name
        )

    @classmethod
    def from_csv(cls, path: Path, province_name: str) -> WardDirectory:
        """An operator's list: columns ``code,name`` and optionally ``kind``."""
        raw = path.read_bytes()
        rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
        if not rows or not {"code", "name"} <= set(rows[0]):
            raise ValueError(f"{path}: needs the columns code,name")
        wards = [
            Ward(row["code"].strip(), row["name"].strip(), (row.get("kind") or "").strip())
            for row in rows
            if row["code"].strip() and row["name"].strip()
        ]
        digest = hashlib.sha256(raw).hexdigest()[:12]
        return cls(wards, f"csv:{path.name}:{digest}", province_name)

    def __len__(self) -> int:
        return len(self._entries)

    def all(self) -> tuple[Ward, ...]:
        return tuple(entry.ward for entry in self._entries)

    def get(self, code: str) -> Ward | None:
        return self._by_code.get(code)

    def exact(self, query: str) -> Ward | None:
        """The one unit whose name is exactly what was typed (kind word and accents aside)."""
        bare = _strip_prefix(fold(query))
        found = [entry.ward for entry in self._entries if entry.bare == bare]
        return found[0] if len(found) == 1 else None

    def search(self, query: str, limit: int = 6) -> list[Ward]:
        """Best matches first; accent- and case-insensitive, tolerant of a kind word and typos.
        Only the first ``MAX_QUERY`` characters count: fuzzy matching costs grow with the
        query's length, and no unit's name is half as long."""
        typed = fold(query[:MAX_QUERY])
        bare = _strip_prefix(typed)
        if not bare:
            return []
        scored: list[tuple[float, str, Ward]] = []
        for entry in self._entries:
            score = self._score(bare, typed, entry)
            if score >= 0.75:
                scored.append((score, entry.ward.name, entry.ward))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [ward for _, _, ward in scored[:limit]]

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

"""The target group an answer in words points to ("công nhân" → workers), from data."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bot.engine.matching import fold
from bot.engine.types import t

__all__ = ["GROUP_LABELS", "group_for"]

# The target groups as citizens and officials read them (registration, notices, reports).
GROUP_LABELS = {
    1: t("group.1"),
    2: t("group.2"),
    3: t("group.3"),
    4: t("group.4"),
}

DATA = Path(__file__).resolve().parent / "data" / "target-groups.json"


@cache
def _words() -> tuple[tuple[str, int], ...]:
    raw = json.loads(DATA.read_text("utf-8"))
    return tuple(
        (fold(word), int(group)) for group, words in raw["groups"].items() for word in words
    )


def group_for(text: str) -> int | None:
    """The one group whose words appear (whole words, without diacritics) in ``text``; a phrase
    inside a longer one found too counts for nothing («công nhân» in «công nhân viên»); None
    when none or several groups remain."""
    padded = f" {fold(text)} "
    found = [(word, group) for word, group in _words() if f" {word} " in padded]
    kept = {
        group
        for word, group in found
        if not any(word != other and f" {word} " in f" {other} " for other, _ in found)
    }
    return kept.pop() if len(kept) == 1 else None

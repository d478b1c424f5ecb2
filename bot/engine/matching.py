"""Choice matching: a button id, a number, or the label typed with or without diacritics."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from bot.engine.types import Choice

__all__ = ["fold", "match_choice"]

_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


# One message is folded a score of times (each phrase set, each menu label): the latest folds
# are kept. A bounded cache in memory, soon replaced under load; nothing is written anywhere.
@functools.lru_cache(maxsize=1024)
def fold(text: str) -> str:
    """Lower case, no diacritics, ``đ`` as ``d``, punctuation dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = _NON_WORD.sub(" ", bare.casefold())
    return _SPACES.sub(" ", bare).strip()


def match_choice(text: str, choices: Sequence[Choice], *, by_index: bool = True) -> Choice | None:
    """The choice a typed answer means, or None when it means none or several.

    A number picks the choice at that place in the menu (``by_index``), unless some choice is
    labelled with exactly that number (a score button "7")."""
    raw = text.strip()
    typed = fold(raw)
    if not typed or not choices:
        return None
    if raw.isdigit():  # "-1" or "7.5" fold to digits too, but they are not these numbers
        numbered = [choice for choice in choices if choice.label == raw]
        if numbered:
            return numbered[0]
        index = int(raw)
        return choices[index - 1] if by_index and 1 <= index <= len(choices) else None
    labels = [(choice, fold(choice.label)) for choice in choices if not choice.label.isdigit()]
    exact = [choice for choice, label in labels if label == typed]
    if len(exact) == 1:
        return exact[0]
    if len(typed) >= 3:
        starts = [choice for choice, label in labels if label.startswith(typed)]
        if len(starts) == 1:
            return starts[0]
    return None

"""How people answer in a chat, read from ``phrases.json``: yes and no, "I don't know", command
words typed as a whole message, numbers written as words or with units, years in a sentence."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from bot.engine.matching import fold

__all__ = ["PhraseSet", "Phrases", "phrases"]

_EDGE_PUNCTUATION = " \t\r\n.,!;:…~"
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_DIGITS = re.compile(r"[0-9]{1,3}")
_YEAR = re.compile(r"[0-9]{4}")
_OUT_OF_TEN = re.compile(r"(?<=[0-9])\s*/\s*10\b")


def _normal(text: str) -> str:
    """Lower case, NFC, single spaces, no punctuation at either end."""
    lowered = unicodedata.normalize("NFC", text).casefold()
    return " ".join(lowered.split()).strip(_EDGE_PUNCTUATION)


@dataclass(frozen=True, slots=True)
class PhraseSet:
    folded: frozenset[str]  # match with or without diacritics
    exact: frozenset[str]  # match only as written (their folded forms collide with other words)

    @classmethod
    def load(cls, data: Any) -> PhraseSet:
        return cls(
            frozenset(fold(p) for p in data.get("folded", ())),
            frozenset(_normal(p) or p.strip() for p in data.get("exact", ())),
        )

    def matches(self, normal: str) -> bool:
        return normal in self.exact or (bool(normal) and fold(normal) in self.folded)


class Phrases:
    def __init__(self, data: dict[str, Any]) -> None:
        self._particles = tuple(sorted((fold(p) for p in data["particles"]), key=len, reverse=True))
        self.yes = PhraseSet.load(data["yes"])
        self.no = PhraseSet.load(data["no"])
        self.dont_know = PhraseSet.load(data["dont_know"])
        self.none = PhraseSet.load(data["none"])
        self.commands: dict[str, PhraseSet] = {
            str(name): PhraseSet.load(words) for name, words in data["commands"].items()
        }
        self._numbers = {
            fold(word): value for table in data["numbers"].values() for word, value in table.items()
        }
        self._score_words = sorted((fold(w) for w in data["score_words"]), key=len, reverse=True)
        self._year_words = sorted((fold(w) for w in data["year_words"]), key=len, reverse=True)

    def _forms(self, text: str) -> list[str]:
        """The message as typed, and without a politeness particle at its end ("đồng ý ạ")."""
        normal = _normal(text)
        forms = [normal] if normal else [text.strip()]
        words = normal.split(" ")
        if len(words) > 1 and fold(words[-1]) in self._particles:
            forms.append(" ".join(words[:-1]).strip(_EDGE_PUNCTUATION))
        return forms

    def _any(self, phrase_set: PhraseSet, text: str) -> bool:
        return any(phrase_set.matches(form) for form in self._forms(text))

    def intent(self, text: str) -> str | None:
        """``yes`` or ``no`` for a confirmation answered in words; None otherwise."""
        if self._any(self.no, text):  # "không đồng ý" is checked before "đồng ý"
            return "no"
        if self._any(self.yes, text):
            return "yes"
        return None

    def is_dont_know(self, text: str) -> bool:
        return self._any(self.dont_know, text)

    def is_none(self, text: str) -> bool:
        """ "không có", "nghỉ hưu": nothing to give for an optional field."""
        return self._any(self.none, text)

    def command(self, text: str) -> str | None:
        """The command a whole message names in words ("trạng thái", "dừng"), or None."""
        for name, words in self.commands.items():
            if self._any(words, text):
                return name
        return None

    def _strip_words(self, text: str, words: list[str]) -> list[str]:
        out_of_ten = _OUT_OF_TEN.sub(" ", text)  # "8/10"
        folded = f" {fold(_DIGIT_LETTER.sub(' ', out_of_ten))} "
        for word in words:  # the longest first: "tu cham" before "cham"
            folded = folded.replace(f" {word} ", " ")
            while f" {word} " in folded:
                folded = folded.replace(f" {word} ", " ")
        tokens = folded.split()
        return [t for t in tokens if t not in self._particles]

    def number(self, text: str) -> int | None:
        """A whole number 0–10 written as digits or a word, with or without a unit: "8", "tám",
        "8 điểm", "điểm 8", "8đ", "8/10", "eight"; None when the message is anything else."""
        tokens = self._strip_words(text, self._score_words)
        if len(tokens) != 1:
            return None
        token = tokens[0]
        if _DIGITS.fullmatch(token):
            return int(token)
        return self._numbers.get(token)

    def year(self, text: str) -> str | None:
        """Four digits said in a sentence: "năm 1952", "1952.", "sinh năm 1952 ạ"."""
        tokens = self._strip_words(text, self._year_words)
        if len(tokens) == 1 and _YEAR.fullmatch(tokens[0]):
            return tokens[0]
        return None


@cache
def phrases() -> Phrases:
    """The phrase data shipped with the engine (``phrases.json``)."""
    raw = resources.files("bot.engine").joinpath("phrases.json").read_text(encoding="utf-8")
    return Phrases(json.loads(raw))

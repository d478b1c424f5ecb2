"""How people answer in a chat, read from ``phrases.json``: yes and no, "I don't know", command
words typed as a whole message, numbers written as words or with units, years in a sentence."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from bot.engine.matching import fold

__all__ = ["PhraseSet", "Phrases", "phrases"]

_EDGE_PUNCTUATION = " \t\r\n.,!;:…~"
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_DIGITS = re.compile(r"[0-9]{1,3}")
_YEAR = re.compile(r"[0-9]{4}")
_OUT_OF_TEN = re.compile(r"(?<=[0-9])\s*/\s*10\b")
# politeness words after a name, as written: never part of it (ASCII "a" may be: "Văn A")
_NAME_TAILS = frozenset({"ạ", "nhé", "nhe", "nha", "nhá", "please", "pls"})


@lru_cache(maxsize=1024)  # as ``fold``: one message, many phrase sets
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
        self.done = PhraseSet.load(data["done"])
        self.approve = PhraseSet.load(data["approve"])
        self.dont_know = PhraseSet.load(data["dont_know"])
        self.none = PhraseSet.load(data["none"])
        self._question_starts = PhraseSet.load(data["question"]["starts"])
        self._question_ends = PhraseSet.load(data["question"]["ends"])
        self.commands: dict[str, PhraseSet] = {
            str(name): PhraseSet.load(words) for name, words in data["commands"].items()
        }
        self._numbers = {
            fold(word): value for table in data["numbers"].values() for word, value in table.items()
        }
        self._score_words = sorted((fold(w) for w in data["score_words"]), key=len, reverse=True)
        self._year_words = sorted((fold(w) for w in data["year_words"]), key=len, reverse=True)
        self._lead_ins = sorted(
            (tuple(_normal(p).split(" ")) for p in data["name_lead_ins"]), key=len, reverse=True
        )
        self._menu_words = sorted((fold(w) for w in data["menu_words"]), key=len, reverse=True)

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
        """``yes``, ``no``, ``done`` ("xong rồi": nothing more to add) or ``approve`` (a
        coordinator's "duyệt") for an answer in words; None otherwise."""
        if self._any(self.no, text):  # "không đồng ý" is checked before "đồng ý"
            return "no"
        if self._any(self.done, text):
            return "done"
        if self._any(self.approve, text):
            return "approve"
        if self._any(self.yes, text):
            return "yes"
        return None

    def menu_number(self, text: str) -> str | None:
        """The number of a menu item said in words: "số 1", "chọn 2", "phương án 3", "số một"."""
        folded = fold(text)
        for word in self._menu_words:  # the longest first
            if folded.startswith(word + " "):
                rest = folded[len(word) + 1 :]
                number = int(rest) if _DIGITS.fullmatch(rest) else self._numbers.get(rest)
                return None if number is None else str(number)
        return None

    def is_dont_know(self, text: str) -> bool:
        return self._any(self.dont_know, text)

    def strip_lead_in(self, text: str) -> str:
        """ "Dạ, tôi tên là Phạm Văn Tâm" → "Phạm Văn Tâm": words people put before their name.
        A word matches as written, or without diacritics when it was typed without them (so
        the surname "Đà" is not "dạ")."""
        words = text.split()
        changed = True
        while changed and len(words) > 1:
            changed = False
            for lead in self._lead_ins:
                if len(lead) >= len(words):
                    continue
                typed = [_normal(word) for word in words[: len(lead)]]
                if all(
                    t == w or (t.isascii() and t == fold(w))
                    for t, w in zip(typed, lead, strict=True)
                ):
                    words = words[len(lead) :]
                    changed = True
                    break
        while len(words) > 1 and _normal(words[-1]) in _NAME_TAILS:  # "Nguyễn Văn An ạ"
            words = words[:-1]
        return " ".join(words).strip(_EDGE_PUNCTUATION + "-–:")

    def is_question(self, text: str) -> bool:
        """ "sao cứ hỏi mãi vậy", "là gì?", "why": a question, not an answer to store."""
        stripped = unicodedata.normalize("NFC", text).strip()
        if stripped.endswith(("?", "？")):
            return True
        words = _normal(stripped).split(" ")
        if not words or not words[0]:
            return False
        starts = [" ".join(words[:n]) for n in (1, 2, 3) if n <= len(words)]
        ends = [" ".join(words[-n:]) for n in (1, 2) if n < len(words)]
        return any(self._question_starts.matches(w) for w in starts) or any(
            self._question_ends.matches(w) for w in ends
        )

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

"""Validators for what a citizen types: name, year of birth, phone, free-text fields."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from bot.engine.phrases import phrases

__all__ = [
    "MIN_AGE",
    "PhoneError",
    "ValidationError",
    "is_minor",
    "national_phone",
    "normalize_free_text",
    "strip_honorific",
    "validate_birth_year",
    "validate_full_name",
    "validate_phone",
    "visible_text",
    "without_diacritics",
]

MIN_AGE = 6
MAX_AGE = 110
GUARDIAN_AGE = 16
_LINK = re.compile(r"(https?://|www\.|\.(com|vn|net|org|me)\b|t\.me/)", re.IGNORECASE)
_NAME_PUNCT = {" ", "-", "'", "’"}


class ValidationError(Exception):
    """``reason`` is a message id; ``limit`` fills it where it names one."""

    def __init__(self, reason: str, limit: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class PhoneError(ValidationError):
    pass


# Characters that look like nothing: format characters (zero-width spaces and joiners, the soft
# hyphen, bidirectional marks) and the "filler" letters that messaging apps let people send as
# blank names (Hangul fillers U+115F, U+1160, U+3164, U+FFA0; Braille blank U+2800; and the
# Khmer inherent vowels U+17B4, U+17B5).
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u034f")


def _visible(ch: str) -> bool:
    if ch.isspace():
        return True
    return ch not in _FILLERS and unicodedata.category(ch) not in ("Cf", "Cc", "Cs", "Co", "Cn")


def visible_text(text: str) -> str:
    """NFC, invisible characters dropped, runs of white space as one space: what a free-text
    answer (a note, a reason) is stored as; empty when nothing in it can be seen."""
    normalized = unicodedata.normalize("NFC", text)
    return " ".join("".join(ch for ch in normalized if _visible(ch)).split())


# Words of address people type before their name ("bà Trần Thị Lan"): not part of it.
HONORIFICS = frozenset(
    {"ông", "bà", "anh", "chị", "em", "cô", "chú", "bác", "cụ", "cháu", "dì", "thím", "mợ",
     "cậu", "mr", "mrs", "ms", "miss", "mr.", "mrs.", "ms."}
)  # fmt: skip


def strip_honorific(name: str) -> str:
    """ "bà Trần thị lan" → "Trần thị lan": a word of address before a name of two words or
    more is dropped (compared with its diacritics: "Bá" and "Cù" are surnames)."""
    words = name.split(" ")
    if len(words) >= 3 and words[0].casefold() in HONORIFICS:
        return " ".join(words[1:])
    return name


def without_diacritics(name: str) -> bool:
    """A Vietnamese full name typed without its marks ("Pham Van Tam"): two words or more, only
    ASCII letters."""
    return name.isascii() and len(name.split()) >= 2 and any(ch.isalpha() for ch in name)


def validate_full_name(raw: str) -> str:
    """A person's full name as the letter prints it: words before it («dạ, tôi tên là») and a
    politeness word after it («ạ») dropped; a yes, a no or a single word is not a full name."""
    typed = phrases().strip_lead_in(visible_text(raw).replace("’", "'"))
    name = strip_honorific(typed)
    if name and (phrases().intent(name) is not None or phrases().is_dont_know(name)):
        raise ValidationError("reg.full_name.error.not_a_name")
    if not name:
        raise ValidationError("reg.full_name.error.empty")
    if _LINK.search(name):
        raise ValidationError("reg.full_name.error.link")
    if any(ch.isdigit() for ch in name):
        raise ValidationError("reg.full_name.error.digits")
    letters = sum(1 for ch in name if unicodedata.category(ch).startswith("L"))
    if letters == 0:
        raise ValidationError("reg.full_name.error.no_letters")
    for ch in name:
        if ch in _NAME_PUNCT or unicodedata.category(ch)[0] in "LM":
            continue
        raise ValidationError("reg.full_name.error.symbols")
    if len(name) < 2 or letters < 2:
        raise ValidationError("reg.full_name.error.short")
    if len(name) > 100:
        raise ValidationError("reg.full_name.error.long", 100)
    if len(name.split()) < 2:
        raise ValidationError("reg.full_name.error.one_word")
    # Title case each word the way Vietnamese names are written, keeping the rest as typed.
    return " ".join(word[:1].upper() + word[1:] for word in name.split(" "))


def validate_birth_year(raw: str, current_year: int) -> int:
    digits = phrases().year(raw) or raw.strip()  # "năm 1952", "1952."
    if not re.fullmatch(r"\d{4}", digits):
        raise ValidationError("reg.birth_year.error.format")
    year = int(digits)
    if year > current_year - MIN_AGE or year < current_year - MAX_AGE:
        raise ValidationError("reg.birth_year.error.range")
    return year


def is_minor(birth_year: int, current_year: int) -> bool:
    return current_year - birth_year < GUARDIAN_AGE


def validate_phone(raw: str) -> str:
    """A valid Vietnamese number in E.164 (``+84…``)."""
    cleaned = raw.strip()
    if not cleaned or len(cleaned) > 30:
        raise PhoneError("reg.phone.error.invalid")
    try:
        number = phonenumbers.parse(cleaned, "VN")
    except phonenumbers.NumberParseException:
        raise PhoneError("reg.phone.error.invalid") from None
    if number.country_code != 84:
        raise PhoneError("reg.phone.error.not_vn")
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("reg.phone.error.invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_free_text(raw: str, max_length: int = 100) -> str:
    text = visible_text(raw)
    if not text:
        raise ValidationError("reg.text.error.empty")
    if len(text) > max_length:
        raise ValidationError("reg.text.error.long", max_length)
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise ValidationError("reg.text.error.meaningless")
    return text


def national_phone(e164: str) -> str:
    """+84912345678 as people write it: 0912 345 678. A mobile number (+84 and nine digits
    from 3, 5, 7, 8 or 9) is laid out directly, as phonenumbers does (checked against it for
    every prefix in tests/services/test_validation.py): its parsing cost ~190 µs a number, a
    fifth of an Excel export's time."""
    if len(e164) == 12 and e164.startswith("+84") and e164[3] in "35789" and e164[3:].isdigit():
        return f"0{e164[3:6]} {e164[6:9]} {e164[9:]}"
    try:
        number = phonenumbers.parse(e164, "VN")
    except phonenumbers.NumberParseException:
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))

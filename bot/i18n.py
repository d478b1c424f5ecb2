"""Babel catalogs from ``locales/``; the locale is always passed explicitly."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["DOMAIN", "LOCALES", "LOCALES_DIR", "Translator", "compile_catalogs"]

LOCALES: tuple[str, ...] = ("vi", "en")
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older (what ``pybabel compile`` does)."""
    written = []
    for locale in LOCALES:
        po_path = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


class Translator:
    """Looks up message ids; message ids are symbolic keys, both catalogs are complete."""

    def __init__(self, default_locale: str = "vi", locales_dir: Path = LOCALES_DIR) -> None:
        if default_locale not in LOCALES:
            raise ValueError(f"unsupported locale {default_locale!r}")
        compile_catalogs(locales_dir)
        self.default_locale = default_locale
        self._catalogs = {
            locale: Translations.load(str(locales_dir), [locale], DOMAIN) for locale in LOCALES
        }

    def resolve(self, locale: str | None) -> str:
        """A supported locale for a hint such as Telegram's ``language_code`` (``en-US``)."""
        if locale:
            short = locale.split("-")[0].split("_")[0].lower()
            if short in LOCALES:
                return short
        return self.default_locale

    def has(self, locale: str, key: str) -> bool:
        """Whether a message id is in a locale's catalog (for optional variants)."""
        return self._catalogs[self.resolve(locale)].gettext(key) != key

    def __call__(self, locale: str, key: str, /, **params: object) -> str:
        text = self._catalogs[self.resolve(locale)].gettext(key)
        if text == key and locale != "vi":
            text = self._catalogs["vi"].gettext(key)
        return text.format(**params) if params else text

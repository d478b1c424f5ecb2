"""Babel catalogs from ``locales/``; the locale is always passed explicitly."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["DOMAIN", "LOCALES", "LOCALES_DIR", "Translator", "compile_catalogs"]

log = logging.getLogger(__name__)

LOCALES: tuple[str, ...] = ("vi", "en")
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def _fresh(po_path: Path, mo_path: Path) -> bool:
    return mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older (what ``pybabel compile`` does)."""
    written = []
    for locale in LOCALES:
        po_path = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        mo_path = po_path.with_suffix(".mo")
        if _fresh(po_path, mo_path):
            continue
        mo_path.write_bytes(_compiled(po_path, locale))
        written.append(mo_path)
    return written


def _compiled(po_path: Path, locale: str) -> bytes:
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _load(locales_dir: Path, locale: str) -> NullTranslations:
    """A locale's catalog: its compiled ``.mo``, compiled first when older than the ``.po``;
    where the folder cannot be written (a service whose code is read-only, updated without
    ``make catalogs``), compiled in memory rather than failing the start."""
    po_path = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo_path = po_path.with_suffix(".mo")
    if not _fresh(po_path, mo_path):
        data = _compiled(po_path, locale)
        try:
            mo_path.write_bytes(data)
        except OSError as exc:
            log.warning("catalog %s compiled in memory (%s)", locale, exc.strerror or exc)
            return Translations(io.BytesIO(data), domain=DOMAIN)
    return Translations.load(str(locales_dir), [locale], DOMAIN)


# keys built from data whose family has an «other» entry: ``channel.<name>`` (each channel's
# description declares its own; bot/handlers/registry.py)
FALLBACK_FAMILIES = ("channel.",)


class Translator:
    """Looks up message ids; message ids are symbolic keys, both catalogs are complete."""

    def __init__(self, default_locale: str = "vi", locales_dir: Path = LOCALES_DIR) -> None:
        if default_locale not in LOCALES:
            raise ValueError(f"unsupported locale {default_locale!r}")
        self.default_locale = default_locale
        self._catalogs = {locale: _load(locales_dir, locale) for locale in LOCALES}

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
        text = self._text(locale, key)
        if text == key and key.startswith(FALLBACK_FAMILIES):
            # a name built from data that no catalog entry has (a test's channel «test»):
            # its family's «other» («kênh khác»), never the bare key
            text = self._text(locale, key.rpartition(".")[0] + ".other")
        return text.format(**params) if params else text

    def _text(self, locale: str, key: str) -> str:
        text = self._catalogs[self.resolve(locale)].gettext(key)
        if text == key and locale != "vi":
            text = self._catalogs["vi"].gettext(key)
        return text

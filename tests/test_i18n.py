"""Every message id the code uses has a Vietnamese and an English translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, LOCALES_DIR, Translator

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# The keywords of `make messages`: Babel's defaults (the web console's templates say _("id")),
# t("id"), translate(locale, "id"), ValidationError("id")
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "t": None, "_tr": (2,), "translate": (2,), "ValidationError": None, "PhoneError": None,
}  # fmt: skip


def code_message_ids() -> set[str]:
    """What ``make messages`` (pybabel extract, mapped by locales/babel.cfg) finds in bot/: the
    code and the web console's templates."""
    with (LOCALES_DIR / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found = extract_from_dir(str(ROOT / "bot"), method_map, options_map, keywords=KEYWORDS)
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def catalog(locale: str) -> dict[str, str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}  # type: ignore[misc]


def template_ids() -> set[str]:
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        return {m.id for m in read_po(pot) if m.id and isinstance(m.id, str)}


def test_the_code_uses_message_ids_at_all() -> None:
    assert {
        "reg.consent.prompt",
        "engine.stale",
        "group.4",
        "command.profile",
    } <= code_message_ids()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_id_has_a_translation(locale: str) -> None:
    translations = catalog(locale)
    missing = sorted(code_message_ids() - {k for k, v in translations.items() if v.strip()})
    assert not missing, f"{locale} lacks: {missing}"
    assert not sorted(set(translations) - code_message_ids()), "catalog holds unused ids"


def test_the_template_lists_exactly_the_ids_in_the_code() -> None:
    assert template_ids() == code_message_ids()


def test_placeholders_agree_between_languages() -> None:
    vi, en = catalog("vi"), catalog("en")
    for key in vi:
        assert set(PLACEHOLDER.findall(vi[key])) == set(PLACEHOLDER.findall(en[key])), key


def test_vietnamese_is_written_with_diacritics() -> None:
    vi = catalog("vi")
    assert vi["reg.consent.agree"] == "Đồng ý"
    marks = re.compile(
        r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I
    )
    sentences = [text for text in vi.values() if len(PLACEHOLDER.sub("", text).split()) >= 3]
    without = [text for text in sentences if not marks.search(text)]
    assert len(sentences) > 100
    assert not without, without


def test_translator_falls_back_and_formats() -> None:
    tr = Translator("vi")
    assert tr.resolve("en-US") == "en"
    assert tr.resolve("fr") == "vi"
    assert tr.resolve(None) == "vi"
    assert "3" in tr("en", "engine.too_long", limit=3)


def test_vietnamese_uses_one_neutral_form_of_address() -> None:
    """Suited to elders and pupils alike: requests as "Vui lòng…", questions as "Xin cho
    biết…"; the bot never speaks as "tôi" or "chúng tôi" and calls nobody "bạn". Only a
    button that speaks for the user may say "của tôi"."""
    vi = catalog("vi")
    pronoun = re.compile(r"\b(bạn|tôi|chúng tôi|chúng ta)\b", re.IGNORECASE)
    users_words = {"reg.ward_pick.retype"}  # "Không thấy phường/xã của tôi – gõ lại"
    assert [k for k, v in vi.items() if pronoun.search(v) and k not in users_words] == []
    assert [k for k, v in vi.items() if "xã/phường" in v] == []  # "phường/xã", one order
    assert [k for k, v in vi.items() if "chiến dịch" in v] == []  # "tin thông báo"
    assert [k for k, v in vi.items() if v.count("tạm tính") > 1] == []
    known_bad = ("số lẻ", "(không khai)", "đạt danh hiệu khi", "chưa đủ: đã chấm")
    assert [k for k, v in vi.items() if any(bad in v for bad in known_bad)] == []


def test_no_text_mentions_buttons_on_a_channel_without_them() -> None:
    """A channel without buttons (Zalo, the console) gets a message id's ".typed" variant where
    there is one; whatever it gets never asks to press a button."""
    for locale, words in (("vi", r"\b(bấm|nút)\b"), ("en", r"\b(press|button)\b")):
        texts = catalog(locale)
        for key in texts:
            if key.endswith(".typed"):
                continue
            shown = texts.get(f"{key}.typed", texts[key])
            assert not re.search(words, shown, re.IGNORECASE), (locale, key)


def test_a_catalog_that_cannot_be_written_is_compiled_in_memory(tmp_path: Path) -> None:
    """A service whose code folder is read-only (systemd's ProtectSystem=strict) updated without
    `make catalogs` still starts, in Vietnamese: the stale .mo is not written but compiled in
    memory (here the .mo's place is taken by a folder, which nothing can write over)."""
    import shutil

    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    for locale in LOCALES:
        (locales / locale / "LC_MESSAGES" / "messages.mo").mkdir()
    translator = Translator("vi", locales)
    assert translator("vi", "reg.consent.agree") == "Đồng ý"
    assert translator("en", "reg.consent.agree") == "I agree"

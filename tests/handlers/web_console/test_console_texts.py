"""The console's template texts reach the catalogs the way ``make messages`` finds them: Jinja2's
own Babel extractor, as locales/babel.cfg maps it (no list of ids kept by hand), and a template
that does not parse fails the extraction instead of losing its texts."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[3]


def template_ids(folder: Path) -> set[str]:
    """What ``pybabel extract -F locales/babel.cfg … bot`` finds in the console's templates."""
    with (LOCALES_DIR / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found = extract_from_dir(str(folder), method_map, options_map, keywords=DEFAULT_KEYWORDS)
    return {m for name, _, m, _, _ in found if name.endswith(".html") and isinstance(m, str)}


def test_the_templates_texts_are_extracted_and_translated() -> None:
    ids = template_ids(ROOT / "bot")
    assert {"web.title", "web.nav.staff", "web.signed_in_as", "web.bc.recipients"} <= ids
    assert len(ids) > 100
    for locale in LOCALES:
        with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
            translated = {m.id for m in read_po(po) if m.id and m.string}
        assert not sorted(ids - translated), locale


def test_a_template_that_does_not_parse_fails_the_extraction(tmp_path: Path) -> None:
    broken = tmp_path / "handlers" / "web_console" / "templates" / "broken.html"
    broken.parent.mkdir(parents=True)
    broken.write_text('{% if x %}{{ _("web.title") }}', encoding="utf-8")  # no endif
    with pytest.raises(jinja2.TemplateSyntaxError):
        template_ids(tmp_path)

"""A channel is one folder and one line of the registry: nothing else in ``bot/`` or
``storage/`` names it, and what it declares holds together.

A name counts where code uses it: a string literal (``"zalo"``, ``"web.channel.zalo"``,
``"CDHT_ZALO_TOKEN is …"``) or an identifier (``zalo_rate``, ``ZaloChannel``, an import of
``bot.handlers.zalo``), and a string in a web console template's ``{% … %}`` or ``{{ … }}``;
not documentation (comments, docstrings, a bare string statement). Words are split at
``_ . - / :``, spaces and case changes, so ``telegram_rate`` names Telegram and ``zalo_oa``
names the channel ``zalo_oa``, not ``zalo``. The staff's *web* console is not the console
channel: ``web_console``, ``WebConsole``, its pages (``/console/…``), its style sheet and its
sign-in module (``bot.services.console``) are left alone.

``STILL_NAMING``: the files outside this change that still name channels; each is to read the
registry or a channel's description instead, then leaves the list (the test fails for an
entry that no longer names a channel, so the list only shrinks).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.config import Settings
from bot.handlers.description import ChannelDescription
from bot.handlers.registry import (
    CHANNEL_NAMES,
    CHANNELS,
    ChannelSettings,
    describe,
    served_channels,
)
from bot.i18n import LOCALES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ROOT / "bot" / "handlers"
REGISTRY = "bot/handlers/registry.py"

# file -> why it still names channels and what it should read instead (see the module's doc)
STILL_NAMING: dict[str, str] = {
    # The console channel is the command line's own chat: `cdht console`, and what `cdht run`
    # opens when no channel is configured. It stays named there (a channel people reach the
    # bot on, like Telegram or Zalo, is named nowhere outside its folder and the registry).
    "bot/cli/parser.py": "the `cdht console` command and its help",
    "bot/cli/supervision.py": "`cdht console` opens the console channel (ConsoleChannel)",
    "bot/cli/__init__.py": "the `cdht console` command",
}

# Not the console channel: the staff's web console (its pages, style sheet, sign-in module).
WEB_CONSOLE = re.compile(r"^/console(/|$)|(^|/)console\.css$|^bot\.services\.console$")
JINJA = re.compile(r"\{[{%](.*?)[%}]\}", re.DOTALL)
JINJA_STRING = re.compile(r"""(["'])(.*?)\1""")


def channel_names() -> dict[str, list[str]]:
    """Each channel's name as words: the registry's, and any channel folder's (one that is
    not registered yet still owns its name, so ``zalo_oa`` is not read as ``zalo``)."""
    folders = {
        path.name
        for path in HANDLERS.iterdir()
        if (path / "__init__.py").is_file() and path.name != "web_console"
    }
    return {name: name.split("_") for name in {*CHANNEL_NAMES, *folders}}


def words(text: str) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", text) if word]


def named(text: str, names: dict[str, list[str]]) -> set[str]:
    """The channels ``text`` names, longest names first; an address (``https://…``) names a
    host, not a channel."""
    if WEB_CONSOLE.search(text) or text.startswith(("http://", "https://")):
        return set()
    found: set[str] = set()
    ordered = sorted(names.items(), key=lambda item: -len(item[1]))
    split = words(text)
    at = 0
    while at < len(split):
        for name, parts in ordered:
            if split[at : at + len(parts)] == parts:
                if not (name == "console" and at > 0 and split[at - 1] == "web"):
                    found.add(name)
                at += len(parts) - 1
                break
        at += 1
    return found


def code_texts(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal and identifier, documentation left out."""
    tree = ast.parse(source)
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docs:
                yield line, node.value
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield line, node.name
        elif isinstance(node, (ast.arg, ast.keyword)) and node.arg:
            yield line, node.arg
        elif isinstance(node, ast.alias):
            yield line, node.name
            if node.asname:
                yield line, node.asname
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module


def template_texts(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string in a template's Jinja tags and expressions."""
    for tag in JINJA.finditer(source):
        line = source.count("\n", 0, tag.start()) + 1
        for string in JINJA_STRING.finditer(tag.group(1)):
            yield line, string.group(2)


def owner(relative: str) -> str | None:
    """The channel whose folder holds the file, if any."""
    parts = relative.split("/")
    return parts[2] if parts[:2] == ["bot", "handlers"] and len(parts) > 3 else None


def own_names(relative: str, names: dict[str, list[str]]) -> set[str | None]:
    """What a file may name: its folder's channel, and the platform that channel belongs to
    (a Zalo Official Account's folder, ``zalo_oa``, says «Zalo» for the company)."""
    folder = owner(relative)
    family = {name for name in names if folder is not None and folder.startswith(f"{name}_")}
    return {folder, *family}


def naming() -> dict[str, list[str]]:
    """file -> "line: channel (text)" for every place a channel is named outside its own
    folder and the registry."""
    names = channel_names()
    found: dict[str, list[str]] = {}
    files = [
        *sorted((ROOT / "bot").rglob("*.py")),
        *sorted((ROOT / "storage").rglob("*.py")),
        *sorted((ROOT / "bot").rglob("*.html")),
    ]
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        if relative == REGISTRY:
            continue
        source = path.read_text(encoding="utf-8")
        texts = code_texts(source) if path.suffix == ".py" else template_texts(source)
        for line, text in texts:
            for channel in sorted(named(text, names) - own_names(relative, names)):
                found.setdefault(relative, []).append(f"{line}: {channel} ({text[:60]!r})")
    return found


def test_no_channel_is_named_outside_its_folder_and_the_registry() -> None:
    found = naming()
    unexpected = {path: places for path, places in found.items() if path not in STILL_NAMING}
    assert not unexpected, (
        "a channel is named outside its folder and the registry; read its description "
        "(bot.handlers.registry) instead:\n"
        + "\n".join(f"{path}:{place}" for path, places in unexpected.items() for place in places)
    )


def test_the_list_of_files_still_naming_channels_only_shrinks() -> None:
    found = naming()
    cleared = sorted(path for path in STILL_NAMING if (ROOT / path).exists() and path not in found)
    assert not cleared, f"these no longer name a channel: remove them from STILL_NAMING: {cleared}"


@pytest.mark.parametrize(
    ("text", "channels"),
    [
        ("telegram", {"telegram"}),
        ("web.channel.zalo", {"zalo"}),
        ("CDHT_TELEGRAM_WEBHOOK_SECRET is required", {"telegram"}),
        ("zalo_rate", {"zalo"}),
        ("ZaloChannel", {"zalo"}),
        ("bot.handlers.console", {"console"}),
        ("ConsoleChannel", {"console"}),
        ("zalo_oa", {"zalo_oa"}),
        ("WebConsole", set()),
        ("serve_web_console", set()),
        ("/console/broadcasts/send", set()),
        ("bot.services.console", set()),
        ("channel", set()),
        ("telegrams", set()),
        ("https://openapi.zalo.me", set()),
    ],
)
def test_what_counts_as_naming_a_channel(text: str, channels: set[str]) -> None:
    names = {**channel_names(), "zalo_oa": ["zalo", "oa"]}
    assert named(text, names) == channels


def test_documentation_and_comments_do_not_count() -> None:
    source = '"""Telegram and Zalo."""\n# telegram\nx = 1\n"""zalo, said of x"""\n'
    assert list(code_texts(source)) == [(3, "x")]


# -- the descriptions hold together -------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS, ids=CHANNEL_NAMES)
def test_each_description_is_in_its_own_folder(channel: ChannelDescription) -> None:
    assert (HANDLERS / channel.name / "description.py").is_file()
    module = importlib.import_module(f"bot.handlers.{channel.name}.description")
    assert channel in vars(module).values()
    assert describe(channel.name) is channel


def test_names_are_unique() -> None:
    assert len(set(CHANNEL_NAMES)) == len(CHANNEL_NAMES)


@pytest.mark.parametrize("channel", CHANNELS, ids=CHANNEL_NAMES)
def test_the_display_name_is_the_catalogs_channel_key(channel: ChannelDescription) -> None:
    """Layers that may not import the registry (services) find it by this key."""
    assert channel.display_name.key == f"channel.{channel.name}"
    for locale in LOCALES:
        with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
            message = read_po(po, locale=locale).get(channel.display_name.key)
        assert message is not None and message.string, (locale, channel.name)


@pytest.mark.parametrize("channel", CHANNELS, ids=CHANNEL_NAMES)
def test_the_settings_a_description_names_are_its_own_and_in_the_configuration(
    channel: ChannelDescription,
) -> None:
    named_settings = [
        channel.pace.rate,
        channel.pace.chat_interval,
        channel.enabled_by,
        *channel.secrets,
        *((channel.webhook.url_setting, channel.webhook.secret_setting) if channel.webhook else ()),
    ]
    own = set(channel.settings.model_fields) if channel.settings is not None else set()
    assert {name for name in named_settings if name is not None} <= own
    if channel.settings is not None:
        assert issubclass(ChannelSettings, channel.settings)
        assert issubclass(Settings, channel.settings)
        assert all(field.startswith(f"{channel.name}_") for field in own)


@pytest.mark.parametrize("channel", CHANNELS, ids=CHANNEL_NAMES)
def test_a_served_channel_starts_from_its_folder(channel: ChannelDescription) -> None:
    if channel.start is None:
        assert channel.enabled_by is None
        return
    assert channel.enabled_by is not None
    module = importlib.import_module(f"bot.handlers.{channel.name}.start")
    assert callable(module.start)
    assert f"bot.handlers.{channel.name}.start" in channel.start.__qualname__


# -- what reads the descriptions behaves as the name lists did ---------------------------


async def test_the_pace_and_the_file_kinds_come_from_the_descriptions(tmp_path: Path) -> None:
    from bot.app import build_app
    from bot.config import load_settings
    from bot.services.outbox import Pace

    settings = load_settings(data_dir=tmp_path, telegram_rate=30, zalo_chat_interval=2)
    app = build_app(settings)
    try:
        assert app.pace("telegram") == Pace(30, 1.0, 8)
        assert app.pace("zalo") == Pace(10, 2.0, 8)
        assert app.pace("console") == Pace(1000, 0, 8)  # a terminal: as fast as it goes
        assert app.pace("test") == Pace(1000, 0, 8)  # a name no channel has
        assert app.services.photo_only_channels == frozenset({"zalo"})
    finally:
        await app.close()


def test_the_configuration_names_channels_as_before() -> None:
    from bot.config import AdminRef

    assert [str(AdminRef.parse(f"{name}:1")) for name in CHANNEL_NAMES] == [
        "telegram:1",
        "zalo:1",
        "zalo_oa:1",
        "console:1",
    ]
    with pytest.raises(ValueError, match="channel in telegram/zalo/zalo_oa/console"):
        AdminRef.parse("sms:1")
    assert [c.name for c in served_channels()] == ["telegram", "zalo", "zalo_oa"]
    assert [c.name for c in CHANNELS if c.buttons] == ["telegram"]

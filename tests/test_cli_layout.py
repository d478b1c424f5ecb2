"""The command line's shape (issue 19): it calls the domain's use cases and the services,
never a flow module, and every command opens the store through the one helper
(``bot.cli.store.open_store``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bot.cli

CLI = Path(bot.cli.__file__).parent
MODULES = sorted([*CLI.glob("*.py"), CLI.parent / "__main__.py"])


def imported(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_command_line_imports_no_flow_module() -> None:
    for path in MODULES:
        flows = sorted(name for name in imported(path) if name.startswith("bot.flows"))
        assert flows == [], f"{path.name} imports {flows}: call bot.domain.usecases instead"


def test_only_the_store_helper_builds_a_store() -> None:
    for path in MODULES:
        source = path.read_text(encoding="utf-8")
        builds = re.search(r"\b(SqlStore|create_engine|upgrade)\(", source) is not None
        assert builds == (path.name == "store.py"), f"{path.name}: use open_store(settings)"

"""The operator's small commands: ``cdht db upgrade`` (the schema) and ``cdht wards`` (the
province's units, to find the codes the other commands take)."""

from __future__ import annotations

import sys

from bot.cli.store import open_store
from bot.config import Settings

__all__ = ["db_upgrade", "wards"]


async def db_upgrade(settings: Settings) -> int:
    """Apply the migrations and say the revision the database is at."""
    from storage import current_revision

    async with open_store(settings) as store:
        print(f"database at revision {await current_revision(store.engine)}")
    return 0


def wards(settings: Settings, query: str) -> int:
    """The units matching ``query`` (all of them, by name, without one), one per line."""
    from bot.app import load_wards
    from bot.domain.collation import collation_key

    directory = load_wards(settings)
    found = (
        directory.search(query, limit=20)
        if query
        else sorted(directory.all(), key=lambda ward: collation_key(ward.name))
    )
    for ward in found:
        print(f"{ward.code}\t{ward.name}")
    if not found:
        print(f"no unit matches {query!r}", file=sys.stderr)
        return 1
    print(f"{len(found)} of {len(directory)} units ({directory.data_version})", file=sys.stderr)
    return 0

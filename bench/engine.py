"""Per-update cost of the engine: complete registrations through the engine and storage.

    .venv/bin/python bench/engine.py [--citizens N] [--database-url URL]

SQLite in a temporary folder by default; pass a PostgreSQL URL to compare. Figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_app
from bot.config import Settings
from tests.chat import Chat, register


async def measure(citizens: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Settings(_env_file=None, data_dir=Path(folder), database_url=database_url))
        await app.migrate()
        updates = 0
        started = time.perf_counter()
        for number in range(citizens):
            await register(Chat(app.engine, user=f"bench-{number}"))
            updates += 11  # /start and ten answers
        sequential = time.perf_counter() - started

        started = time.perf_counter()
        await asyncio.gather(
            *(register(Chat(app.engine, user=f"parallel-{n}")) for n in range(citizens))
        )
        parallel = time.perf_counter() - started
        await app.close()
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"[{backend}] {citizens} registrations, {updates} updates each way")
    print(f"  one user at a time   {sequential / updates * 1000:6.2f} ms per update")
    print(
        f"  {citizens} users at once  {parallel / updates * 1000:6.2f} ms per update (wall clock)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=100)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(measure(args.citizens, args.database_url))

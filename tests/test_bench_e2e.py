"""``bench/e2e.py --quick`` runs end to end on SQLite and prints its tables: `cdht run` and the
bare aiogram echo as real processes against the benchmark's fake Bot API server, a few users
each registering. A smoke test of the benchmark, not of speed: no figure is checked; the whole
run must end within 30 s (the subprocess's timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_end_to_end_bench_prints_its_tables() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDHT_", "BENCH_"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "e2e.py"), "--quick", "--variants",
         "cdht,echo-aiogram"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "| variant | database | users | updates/s min | median |" in out, out
    assert "`cdht run` as shipped" in out and "bare aiogram echo | — |" in out, out
    assert "| SQLite | 3 |" in out, out
    assert "unanswered" not in out, out  # every step of every registration got its reply
    assert "Open loop, 20 updates/s offered for 1 s" in out, out

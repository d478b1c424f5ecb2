"""``python -m bot ARGS`` under cProfile, switched on and off by ``bench/e2e.py --profile``.

The profiler starts at SIGUSR1 (the load begins) and stops at SIGUSR2 (the last reply arrived),
then writes its statistics to ``BENCH_PROFILE`` (a file; written whole, then renamed), so the
profile holds the updates only: not the imports, the migrations or the start-up. cProfile sees
the thread it was started in, the event loop's, where SQLite's statements run too
(``storage/writer.py``); ``bench/e2e.py`` reports the other threads' CPU time beside it.
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
from types import FrameType


def main() -> None:
    target = os.environ["BENCH_PROFILE"]
    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(f"{target}.part")
        os.replace(f"{target}.part", target)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["bot", *sys.argv[1:]]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

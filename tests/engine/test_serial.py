from __future__ import annotations

import asyncio

from bot.engine import KeyedSerializer


async def test_one_key_runs_in_order_and_keys_run_in_parallel() -> None:
    serializer = KeyedSerializer(max_concurrency=8)
    log: list[tuple[str, int, str]] = []
    both_running = asyncio.Event()
    running: set[str] = set()

    def job(key: str, n: int) -> object:
        async def run() -> None:
            log.append((key, n, "start"))
            running.add(key)
            if len(running) == 2:
                both_running.set()
            await asyncio.sleep(0.001 * (5 - n))  # later jobs are quicker: order must still hold
            running.discard(key)
            log.append((key, n, "end"))

        return run

    for n in range(5):
        serializer.submit("a", job("a", n))  # type: ignore[arg-type]
        serializer.submit("b", job("b", n))  # type: ignore[arg-type]
    await serializer.join()

    for key in "ab":
        events = [(n, what) for k, n, what in log if k == key]
        assert events == [(n, what) for n in range(5) for what in ("start", "end")]
    assert both_running.is_set()
    assert serializer.pending == 0


async def test_a_failing_job_does_not_stop_the_queue() -> None:
    serializer = KeyedSerializer()
    done: list[int] = []

    async def boom() -> None:
        raise RuntimeError("x")

    async def ok() -> None:
        done.append(1)

    serializer.submit("a", boom)
    serializer.submit("a", ok)
    await serializer.join()
    assert done == [1]

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.fakes.zalo_api import FakeZalo


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    server = await FakeZalo().start()
    yield server
    await server.stop()


Action = Callable[[], Awaitable[object]]
ZConverse = Callable[[str, Action, str], Awaitable[str]]


@pytest.fixture
def zsay(zalo: FakeZalo) -> ZConverse:
    """Act as a Zalo user, then wait for a bot message containing ``expected``."""

    async def run(user: str, action: Action, expected: str) -> str:
        before = len(zalo.sent(user))
        await action()
        try:
            await zalo.wait_for(lambda: any(expected in m for m in zalo.sent(user)[before:]))
        except TimeoutError:
            got = [m[:160] for m in zalo.sent(user)[before:]]
            raise AssertionError(f"no message with {expected!r}; got {got}") from None
        return "\n".join(zalo.sent(user)[before:])

    return run

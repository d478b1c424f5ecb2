from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from tests.bots import Running, start_bot
from tests.fakes.zalo_api import FakeZalo
from tests.handlers.conftest import ZConverse

__all__ = ["ZConverse"]


@pytest.fixture
async def zbot(settings: Settings, zalo: FakeZalo) -> AsyncIterator[Running]:
    running = await start_bot(settings, zalo=zalo)
    yield running
    await running.shutdown()

"""Per-account inbound rate limit: what costs nothing to send must cost little to handle."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FloodGuard", "Verdict"]


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - handle it (not a password)
    NOTICE = "notice"  # drop it, and say once that the account should slow down
    DROP = "drop"  # drop it silently


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    noticed: bool = False


class FloodGuard:
    """A token bucket per account: ``burst`` updates at once (an album of photos, quick button
    presses), then ``rate`` a second. The first update refused in a flood gets one polite
    notice; the rest of the flood is dropped until the bucket is full again. Other accounts
    are not affected: their buckets are their own."""

    def __init__(
        self,
        burst: int = 30,
        rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_accounts: int = 100_000,
    ) -> None:
        self._burst = float(burst)
        self._rate = rate
        self._clock = clock
        self._max = max_accounts
        self._buckets: dict[str, _Bucket] = {}

    def check(self, account: str) -> Verdict:
        now = self._clock()
        bucket = self._buckets.get(account)
        if bucket is None:
            if len(self._buckets) >= self._max:
                self._forget_idle(now)
            bucket = self._buckets[account] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        if bucket.tokens >= self._burst:
            bucket.noticed = False  # a full bucket: any flood is over
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.PASS
        if bucket.noticed:
            return Verdict.DROP
        bucket.noticed = True
        return Verdict.NOTICE

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled: they hold nothing worth remembering."""
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self._rate < self._burst
        }

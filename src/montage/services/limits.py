"""Per-key limits kept in this process: a token-bucket request rate and a count of open streams.

Several API replicas each keep their own counts (a key may use ``replicas x limit``); the
queued-job quota is counted in the database instead (:meth:`JobService._check_key_quota`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from montage.errors import TooManyRequests


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, max(1, burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if the request may go ahead, else how many seconds until it could."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - seen) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class StreamSlot:
    """One open stream of a key; released exactly once (also if the stream never started)."""

    def __init__(self, counter: StreamCounter, key: str) -> None:
        self._counter, self._key, self._held = counter, key, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._counter._release(self._key)

    def __del__(self) -> None:
        self.release()


class StreamCounter:
    """At most ``limit`` concurrent event streams per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> StreamSlot:
        with self._lock:
            count = self._open.get(key, 0)
            if count >= self.limit:
                raise TooManyRequests(f"this key already has {count} event streams open (limit {self.limit})",
                                      code="TOO_MANY_STREAMS", retry_after_s=5.0, limit=self.limit)
            self._open[key] = count + 1
        return StreamSlot(self, key)

    def open_streams(self, key: str) -> int:
        with self._lock:
            return self._open.get(key, 0)

    def _release(self, key: str) -> None:
        with self._lock:
            left = self._open.get(key, 0) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)

"""The per-key rate limiter and stream counter, on a clock the test moves."""

from __future__ import annotations

import pytest

from montage.errors import TooManyRequests
from montage.services.limits import RateLimiter, StreamCounter, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k")
    assert wait == pytest.approx(0.5)  # one token comes back every 1/rate seconds
    assert limiter.take("other") == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("k") > 0
    clock.now += 60
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]  # refilled to the burst, not beyond
    assert limiter.take("k") > 0


def test_rate_zero_means_no_limit() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.take("k") == 0 for _ in range(1000))


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after_header(s) for s in (0.01, 1.0, 1.2)] == ["1", "1", "2"]


def test_streams_per_key_and_release_once() -> None:
    counter = StreamCounter(limit=2)
    first, second = counter.acquire("k"), counter.acquire("k")
    with pytest.raises(TooManyRequests) as refused:
        counter.acquire("k")
    assert refused.value.code == "TOO_MANY_STREAMS" and refused.value.retry_after_s > 0
    counter.acquire("other").release()
    first.release()
    first.release()  # a second release gives nothing back twice
    assert counter.open_streams("k") == 1
    third = counter.acquire("k")
    second.release()
    third.release()
    assert counter.open_streams("k") == 0

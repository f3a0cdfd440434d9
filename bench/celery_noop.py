"""The Celery peer of bench/tasks.py: the same no-op task on Redis.

The task records (sent, started) wall-clock times in a Redis list, so the bench measures
enqueue→start the way it does for montage (created_at → started_at).
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUE = "montage-bench-noop"
TIMES_KEY = "montage-bench:times"

app = Celery("montage_bench", broker=BROKER)
app.conf.update(task_default_queue=QUEUE, task_ignore_result=True, worker_prefetch_multiplier=4,
                broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)
_redis = redis.Redis.from_url(BROKER)


@app.task(name="bench.noop")
def noop(sent_at: float) -> None:
    """Does nothing but note when it started."""
    _redis.rpush(TIMES_KEY, f"{sent_at} {time.time()}")

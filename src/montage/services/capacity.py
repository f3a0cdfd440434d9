"""How much queued work the server, and each API key, may hold: ``max_queued_jobs`` (503
``QUEUE_FULL``) and ``max_queued_jobs_per_key`` (429 ``QUOTA_EXCEEDED``)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from montage.domain import access
from montage.domain.jobs import JobStatus
from montage.errors import QueueFull, TooManyRequests
from montage.services.runtime import Runtime
from montage.store import jobs as jobs_repo

_CACHE_S = 0.5


class Capacity:
    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.settings = runtime.settings
        self._queued_seen: tuple[float, int] = (-1e9, 0)

    def check(self, s: Session, adding: int = 1) -> None:
        """Refuse work beyond ``max_queued_jobs``. Far from the limit a count at most half a second
        old decides (counting a deep queue in every write transaction serialised submissions);
        near it an exact count inside the transaction does, so the limit holds exactly."""
        self._check_key_quota(s, adding)
        limit = self.settings.max_queued_jobs
        if self._recent_queued() + adding + max(1000, limit // 10) <= limit:
            return
        queued = jobs_repo.count_jobs(s, statuses=[JobStatus.QUEUED.value])
        if queued + adding > self.settings.max_queued_jobs:
            raise QueueFull(f"the queue is full ({queued} jobs waiting)", queued=queued,
                            limit=self.settings.max_queued_jobs)

    def _check_key_quota(self, s: Session, adding: int) -> None:
        """Refuse (429) a key more queued jobs than ``max_queued_jobs_per_key``."""
        key_id = access.creating_key()
        if key_id is None:
            return
        limit = self.settings.max_queued_jobs_per_key
        queued = jobs_repo.count_jobs(s, statuses=[JobStatus.QUEUED.value], key_id=key_id)
        if queued + adding > limit:
            raise TooManyRequests(f"this key has {queued} jobs queued (quota {limit})", code="QUOTA_EXCEEDED",
                                  retry_after_s=5.0, queued=queued, limit=limit)

    def _recent_queued(self) -> int:
        seen_at, count = self._queued_seen
        if time.monotonic() - seen_at > _CACHE_S:
            with self.db.read() as s:
                count = jobs_repo.count_jobs(s, statuses=[JobStatus.QUEUED.value])
            self._queued_seen = (time.monotonic(), count)
        return count

"""Cheaper queue polls: two of DBOS's per-poll reads, kept for a second.

Every poll of every queue (the default queue twenty times a second) makes DBOS read the queue's
configuration back from its table and ask whether this executor runs the latest registered
application version, building both queries anew each time. Profiled on a busy server these
two reads were most of the polling cost, itself up to two fifths of the time the process held
the GIL. Neither changes in a running montage: the application version is pinned
(``Settings.app_version``) and montage registers its queues' settings at launch and when a
processing server is added or changed, which :func:`forget_queue` makes seen at once in that
process. Keeping each answer for :data:`KEEP_S` delays a change to a queue's limits in the
other processes by at most that long.

This wraps two methods of DBOS's ``SystemDatabase``; :func:`keep_poll_reads` checks that they
are there and leaves DBOS as it is (slower, not wrong) if a new DBOS renamed them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("montage.engine")

KEEP_S = 1.0


class _Kept:
    """``fn(key, ...)`` answers kept per key for ``keep_s`` seconds (None answers are not kept)."""

    def __init__(self, fn: Callable[..., Any], keep_s: float) -> None:
        self.fn, self.keep_s = fn, keep_s
        self._answers: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: Any, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(key)
        if kept is not None and now - kept[0] < self.keep_s:
            return kept[1]
        answer = self.fn(key, *args, **kwargs)
        if answer is not None:
            with self._lock:
                self._answers[key] = (now, answer)
        return answer

    def forget(self, key: Any) -> None:
        with self._lock:
            self._answers.pop(key, None)


def forget_queue(name: str) -> None:
    """This process changed queue ``name``: its workers read the new settings at their next poll
    (other processes' within :data:`KEEP_S`)."""
    from dbos._dbos import _get_dbos_instance

    kept = getattr(_get_dbos_instance()._sys_db, "get_queue", None)
    if isinstance(kept, _Kept):
        kept.forget(name)


def keep_poll_reads(keep_s: float = KEEP_S) -> bool:
    """Keep DBOS's per-poll version check and queue reload for ``keep_s`` seconds in this
    process (after ``DBOS.launch``). False if this DBOS has no such methods."""
    from dbos._dbos import _get_dbos_instance

    sys_db = _get_dbos_instance()._sys_db
    names = ("_is_latest_version", "get_queue")
    if not all(callable(getattr(sys_db, name, None)) for name in names):
        log.warning("this DBOS has no %s: queue polls are not made cheaper", " or ".join(names))
        return False
    for name in names:
        setattr(sys_db, name, _Kept(getattr(sys_db, name), keep_s))
    return True

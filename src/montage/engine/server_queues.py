"""One DBOS queue per processing server, its global concurrency the server's ``batch_size``.

The queue's configuration lives in DBOS's system database, so every montage process sees a new
server's queue (DBOS's queue manager looks for new queues every second) and a changed
``batch_size`` (each queue worker re-reads its limits, at most a second old, as it polls) without
a restart; the global limit is counted in that database too, so it holds across processes and
machines.
"""

from __future__ import annotations

import contextlib

from dbos import DBOS

from montage.domain.servers import server_queue
from montage.engine.dbos_polling import forget_queue
from montage.settings import Settings


class ServerQueues:
    """Creates, resizes and removes servers' queues (the ``QueuePort`` of the server service)."""

    def __init__(self, settings: Settings) -> None:
        self.polling_interval_s = settings.long_queue_polling_interval_s

    def ensure(self, name: str, batch_size: int, *, update: bool = True) -> None:
        DBOS.register_queue(server_queue(name), global_concurrency=batch_size,
                            polling_interval_sec=self.polling_interval_s,
                            on_conflict="always_update" if update else "never_update")
        forget_queue(server_queue(name))

    def drop(self, name: str) -> None:
        with contextlib.suppress(Exception):  # already gone: nothing to do
            DBOS.delete_queue(server_queue(name))
        forget_queue(server_queue(name))

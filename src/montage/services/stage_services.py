"""Host services a running stage may call through ``ctx.service(name)``.

Generators see only their context; a few need more than files and progress: the knowledge
base task types store chunks and vectors (``"knowledge"``), a batch task creates and follows
child tasks (``"tasks"``). Each service is built on first use, once per engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from montage.services.runtime import Runtime


def _knowledge(runtime: Runtime, dispatcher: Any) -> Any:
    from montage.services.kb import KnowledgeService

    return KnowledgeService(runtime)


def _tasks(runtime: Runtime, dispatcher: Any) -> Any:
    from montage.services.jobs import JobService
    from montage.services.tasks import ChildTaskControl, TaskService

    return ChildTaskControl(TaskService(JobService(runtime, dispatcher)))


def _batch(runtime: Runtime, dispatcher: Any) -> Any:
    from montage.services.batch_host import BatchHost
    from montage.services.jobs import JobService

    return BatchHost(JobService(runtime, dispatcher))


FACTORIES: dict[str, Callable[[Runtime, Any], Any]] = {"knowledge": _knowledge, "tasks": _tasks, "batch": _batch}


class StageServices:
    def __init__(self, runtime: Runtime, dispatcher: Any) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """The service called ``name``; ``LookupError`` names the ones there are."""
        with self._lock:
            if name not in self._built:
                factory = FACTORIES.get(name)
                if factory is None:
                    raise LookupError(f"no stage service {name!r}; there are: {', '.join(sorted(FACTORIES))}")
                self._built[name] = factory(self.runtime, self.dispatcher)
            return self._built[name]

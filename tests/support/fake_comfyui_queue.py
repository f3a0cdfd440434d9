"""The fake ComfyUI's prompt queue, history and websocket fan-out.

``PromptQueue`` keeps ComfyUI's shapes (``execution.PromptQueue``): queue items are ``(number,
prompt_id, prompt, extra_data, outputs_to_execute)`` ordered by number, and a history entry is
``{"prompt": item, "outputs": {...}, "status": {"status_str", "completed", "messages"}, "meta"}``.
``SocketHub`` sends frames from worker threads to websockets on the server's event loop; like
ComfyUI it keeps one socket per client id, the newest one.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import heapq
import threading
from collections.abc import Callable
from typing import Any


class PromptQueue:
    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._lock = threading.RLock()
        self._not_empty = threading.Condition(self._lock)
        self._queue: list[tuple[Any, ...]] = []
        self._running: dict[int, tuple[Any, ...]] = {}
        self._history: dict[str, dict[str, Any]] = {}
        self._counter = 0
        self._closed = False

    def put(self, item: tuple[Any, ...]) -> None:
        with self._lock:
            heapq.heappush(self._queue, item)
            self._on_change()
            self._not_empty.notify()

    def get(self) -> tuple[tuple[Any, ...], int] | None:
        """The next item and its running id; None once the queue is closed."""
        with self._not_empty:
            self._not_empty.wait_for(lambda: self._queue or self._closed)
            if self._closed:
                return None
            item = heapq.heappop(self._queue)
            item_id, self._counter = self._counter, self._counter + 1
            self._running[item_id] = item
            self._on_change()
            return item, item_id

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()

    def task_done(self, item_id: int, history_result: dict[str, Any], status: dict[str, Any]) -> None:
        with self._lock:
            item = self._running.pop(item_id)
            self._history[item[1]] = {"prompt": list(item), "outputs": {}, "status": status, **history_result}
            self._on_change()

    def current(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with self._lock:
            return list(self._running.values()), sorted(self._queue)

    def tasks_remaining(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._running)

    def delete(self, prompt_id: str) -> bool:
        with self._lock:
            for index, item in enumerate(self._queue):
                if item[1] == prompt_id:
                    self._queue.pop(index)
                    heapq.heapify(self._queue)
                    self._on_change()
                    return True
        return False

    def wipe(self) -> None:
        with self._lock:
            self._queue = []
            self._on_change()

    def history(self, prompt_id: str | None = None, max_items: int | None = None,
                offset: int = -1) -> dict[str, Any]:
        with self._lock:
            if prompt_id is not None:
                entry = self._history.get(prompt_id)
                return {prompt_id: copy.deepcopy(entry)} if entry is not None else {}
            keys = list(self._history)
            if offset < 0 and max_items is not None:
                offset = len(keys) - max_items
            keys = keys[max(offset, 0):]
            keys = keys[:max_items] if max_items is not None else keys
            return {k: copy.deepcopy(self._history[k]) for k in keys}

    def delete_history(self, prompt_id: str | None = None) -> None:
        with self._lock:
            if prompt_id is None:
                self._history = {}
            else:
                self._history.pop(prompt_id, None)


class SocketHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = {}

    def register(self, sid: str, loop: asyncio.AbstractEventLoop, outbox: asyncio.Queue[Any]) -> None:
        with self._lock:
            self._sockets[sid] = (loop, outbox)

    def unregister(self, sid: str, outbox: asyncio.Queue[Any]) -> None:
        with self._lock:
            if sid in self._sockets and self._sockets[sid][1] is outbox:
                del self._sockets[sid]

    def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        """A JSON frame to ``sid``, or to every socket when ``sid`` is None."""
        self._deliver({"type": event, "data": data}, sid)

    def send_bytes(self, frame: bytes, sid: str | None) -> None:
        self._deliver(frame, sid)

    def _deliver(self, frame: Any, sid: str | None) -> None:
        with self._lock:
            targets = list(self._sockets.values()) if sid is None else [self._sockets[sid]] \
                if sid in self._sockets else []
        for loop, outbox in targets:
            with contextlib.suppress(RuntimeError):  # the server's loop has closed
                loop.call_soon_threadsafe(outbox.put_nowait, frame)

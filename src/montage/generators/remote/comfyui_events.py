"""What ComfyUI says about one prompt while it runs, and how the prompt ended.

ComfyUI pushes JSON frames ``{"type": event, "data": {...}}`` over ``/ws?clientId=`` (and binary
preview frames, which montage ignores). The events and their fields, as sent by ComfyUI's
``execution.py`` (``PromptExecutor.execute_async``, ``execute``), ``main.py`` (``prompt_worker``,
progress hook) and ``server.py`` (``PromptServer``):

- ``status`` ``{"status": {"exec_info": {"queue_remaining": n}}, "sid"?}`` — queue length.
- ``execution_start`` ``{"prompt_id", "timestamp"}``
- ``execution_cached`` ``{"nodes": [ids], "prompt_id", "timestamp"}`` — nodes reused from cache.
- ``executing`` ``{"node", "display_node", "prompt_id"}`` — a node starts; ``node: null`` is sent
  after the history entry is written, so it is the signal that the prompt is over.
- ``progress`` ``{"value", "max", "prompt_id", "node"}`` — steps inside a node (older servers send
  only ``value``/``max``).
- ``executed`` ``{"node", "display_node", "output", "prompt_id"}`` — a node produced UI output.
- ``execution_success`` ``{"prompt_id", "timestamp"}``
- ``execution_error`` ``{"prompt_id", "node_id", "node_type", "executed", "exception_message",
  "exception_type", "traceback", "current_inputs", "current_outputs", "timestamp"}``
- ``execution_interrupted`` ``{"prompt_id", "node_id", "node_type", "executed", "timestamp"}``

The history entry (``GET /history/{id}``) records the same outcome: ``status.status_str`` is
``"success"`` or ``"error"`` and ``status.messages`` is the list of ``[event, data]`` pairs above,
where an interrupt shows up as an ``execution_interrupted`` message of an ``"error"`` run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from montage.errors import GeneratorError, JobCanceled

from ._http import ProgressCallback

SUCCESS, ERROR, INTERRUPTED = "success", "error", "interrupted"
_OUTCOME_EVENTS = {
    "execution_success": SUCCESS, "execution_error": ERROR, "execution_interrupted": INTERRUPTED,
}


@dataclass
class PromptTracker:
    """Follows one prompt's events: progress for the caller, and whether and how it ended."""

    prompt_id: str
    total_nodes: int = 0
    on_progress: ProgressCallback | None = None
    started: bool = False
    #: ``executing`` with ``node: null`` arrived: the history entry exists now.
    finished: bool = False
    outcome: str | None = None
    outcome_data: dict[str, Any] = field(default_factory=dict)
    done_nodes: set[str] = field(default_factory=set)
    current_node: str | None = None
    events_seen: int = 0

    def feed_text(self, text: str | bytes) -> None:
        """Take one websocket frame; binary previews and foreign prompts are skipped."""
        if isinstance(text, bytes):
            return
        try:
            message = json.loads(text)
        except ValueError:
            return
        if isinstance(message, dict) and isinstance(message.get("data"), dict):
            self.feed(str(message.get("type")), message["data"])

    def feed(self, event: str, data: Mapping[str, Any]) -> None:
        handler = self._handlers().get(event)
        if handler is None or not self._is_ours(event, data):
            return
        self.events_seen += 1
        handler(data)

    def _handlers(self) -> dict[str, Callable[[Mapping[str, Any]], None]]:
        return {
            "execution_start": self._on_start,
            "execution_cached": self._on_cached,
            "executing": self._on_executing,
            "progress": self._on_progress,
            "executed": self._on_executed,
            "execution_success": self._on_outcome("execution_success"),
            "execution_error": self._on_outcome("execution_error"),
            "execution_interrupted": self._on_outcome("execution_interrupted"),
        }

    def _is_ours(self, event: str, data: Mapping[str, Any]) -> bool:
        if "prompt_id" in data:
            return data["prompt_id"] == self.prompt_id
        # Older servers omit prompt_id on progress, and a reconnect replays ``executing`` without
        # it; both can only be about the prompt this client is running.
        return event in ("progress", "executing") and self.started and not self.finished

    def _on_start(self, data: Mapping[str, Any]) -> None:
        self.started = True
        self._report(0.0, "started")

    def _on_cached(self, data: Mapping[str, Any]) -> None:
        self.started = True
        self.done_nodes.update(str(n) for n in data.get("nodes") or [])

    def _on_executing(self, data: Mapping[str, Any]) -> None:
        node = data.get("node")
        if self.current_node is not None:
            self.done_nodes.add(self.current_node)
        if node is None:
            self.finished = True
            self.current_node = None
            return
        self.started = True
        self.current_node = str(node)
        self._report(self._percent(0.0), f"node {node}")

    def _on_progress(self, data: Mapping[str, Any]) -> None:
        value, maximum = float(data.get("value") or 0), float(data.get("max") or 0)
        fraction = value / maximum if maximum > 0 else 0.0
        node = data.get("node") or self.current_node
        self._report(self._percent(fraction), f"node {node}: {value:g}/{maximum:g}")

    def _on_executed(self, data: Mapping[str, Any]) -> None:
        if data.get("node") is not None:
            self.done_nodes.add(str(data["node"]))

    def _on_outcome(self, event: str) -> Callable[[Mapping[str, Any]], None]:
        def record(data: Mapping[str, Any]) -> None:
            self.outcome, self.outcome_data = _OUTCOME_EVENTS[event], dict(data)
        return record

    def _percent(self, fraction_of_current: float) -> float:
        if self.total_nodes <= 0:
            return 0.0
        done = len(self.done_nodes) + max(0.0, min(1.0, fraction_of_current))
        return min(99.0, 100.0 * done / self.total_nodes)

    def _report(self, percent: float, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(percent, message)


def outcome_from_history(entry: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(outcome, event data) of a finished prompt's history entry.

    Servers older than the ``status`` field only wrote history for prompts that ran, so an entry
    without it counts as a success.
    """
    status = entry.get("status")
    if not isinstance(status, Mapping):
        return SUCCESS, {}
    messages = [m for m in status.get("messages") or [] if isinstance(m, list | tuple) and len(m) == 2]
    for event, data in reversed(messages):
        if event in ("execution_error", "execution_interrupted"):
            return _OUTCOME_EVENTS[event], dict(data) if isinstance(data, Mapping) else {}
    if status.get("status_str") == "error":
        return ERROR, {}
    return SUCCESS, {}


def outcome_error(prompt_id: str, outcome: str, data: Mapping[str, Any]) -> Exception | None:
    """The exception a failed or interrupted prompt maps to; None for a success."""
    if outcome == SUCCESS:
        return None
    node_id, node_type = data.get("node_id"), data.get("node_type")
    if outcome == INTERRUPTED:
        return JobCanceled(
            f"ComfyUI interrupted prompt {prompt_id} at node {node_id} ({node_type})",
            prompt_id=prompt_id, node_id=node_id, node_type=node_type,
        )
    exception_message = str(data.get("exception_message") or "unknown error").strip()
    exception_type = data.get("exception_type")
    where = f"node {node_id} ({node_type})" if node_id is not None else f"prompt {prompt_id}"
    return GeneratorError(
        f"ComfyUI {where} failed: {exception_type}: {exception_message}",
        code="COMFYUI_EXECUTION_ERROR", retryable=False, prompt_id=prompt_id, node_id=node_id,
        node_type=node_type, exception_type=exception_type, exception_message=exception_message,
        traceback=data.get("traceback"),
    )

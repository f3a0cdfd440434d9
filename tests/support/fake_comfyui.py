"""A local server that speaks ComfyUI's protocol, for testing montage's ComfyUI client.

Routes, bodies and websocket messages follow ComfyUI's ``server.py``, ``execution.py`` and
``main.py``: ``POST /prompt`` validates like ``validate_prompt`` and answers ``{"prompt_id",
"number", "node_errors"}`` or ``400 {"error", "node_errors"}``; one worker thread runs the queue a
prompt at a time, sending ``status``, ``execution_start``, ``execution_cached``, ``executing``,
``progress``, ``progress_state``, binary previews, ``executed``, ``execution_success`` /
``execution_error`` / ``execution_interrupted`` and a final ``executing`` with ``node: null``
after the history entry is written. Every route is also served under ``/api``.

    with FakeComfyUI(tmp_path, step_delay=0.01) as server:
        client = ComfyUIClient(server.url)

The node types are in :mod:`tests.support.fake_comfyui_nodes`. ``websocket=False`` refuses the
websocket handshake; ``drop_websocket_after=n`` closes each socket after n frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import struct
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.support.asgi_thread import BackgroundServer
from tests.support.fake_comfyui_nodes import NODE_TYPES, Interrupted, RunContext, validate_prompt
from tests.support.fake_comfyui_queue import PromptQueue, SocketHub


class _NodeFailed(Exception):
    def __init__(self, node_id: str, cause: BaseException, inputs: dict[str, Any]) -> None:
        super().__init__(str(cause))
        self.node_id, self.cause, self.inputs = node_id, cause, inputs


def _type_name(cls: type) -> str:
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class FakeComfyUI:
    """A ComfyUI-protocol server on 127.0.0.1 and a free port, run in background threads."""

    def __init__(self, root: Path, *, step_delay: float = 0.0, websocket: bool = True,
                 drop_websocket_after: int | None = None) -> None:
        self.root = Path(root)
        self.input_dir, self.output_dir, self.temp_dir = (self.root / d for d in ("input", "output", "temp"))
        for folder in (self.input_dir, self.output_dir, self.temp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.step_delay = step_delay
        self.websocket_enabled = websocket
        self.drop_websocket_after = drop_websocket_after
        self.interrupt_event = threading.Event()
        self.hub = SocketHub()
        self.queue = PromptQueue(on_change=self._queue_changed)
        #: Seconds each prompt spent executing (picked up to just before its history is written), by id.
        self.exec_seconds: dict[str, float] = {}
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        self._number = 0
        self._http = BackgroundServer(self.build_app())
        self._worker_thread = threading.Thread(target=self._worker, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> FakeComfyUI:
        self._http.start()
        self._worker_thread.start()
        return self

    def stop(self) -> None:
        self.queue.close()
        self.interrupt_event.set()
        self._http.stop()
        self._worker_thread.join(timeout=10)

    def __enter__(self) -> FakeComfyUI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def run_context(self, prompt_id: str = "", node_id: str = "") -> RunContext:
        return RunContext(
            self.input_dir, self.output_dir, self.temp_dir, self.step_delay, self.interrupt_event,
            lambda value, maximum: self._progress(prompt_id, node_id, value, maximum), self._preview)

    # -- the worker: one prompt at a time, like ComfyUI's prompt_worker -------------------------

    def _worker(self) -> None:
        while (got := self.queue.get()) is not None:
            item, item_id = got
            started = time.perf_counter()
            history_result, status = self._execute(item)
            self.exec_seconds[item[1]] = time.perf_counter() - started
            self.queue.task_done(item_id, history_result, status)
            if self.client_id is not None:
                self.hub.send("executing", {"node": None, "prompt_id": item[1]}, self.client_id)

    def _execute(self, item: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
        _number, prompt_id, prompt, extra_data, outputs = item
        self.interrupt_event.clear()
        self.client_id = extra_data.get("client_id")
        messages: list[tuple[str, dict[str, Any]]] = []

        def add_message(event: str, data: dict[str, Any], broadcast: bool = False) -> None:
            data = {**data, "timestamp": int(time.time() * 1000)}
            messages.append((event, data))
            if self.client_id is not None or broadcast:
                self.hub.send(event, data, self.client_id)

        add_message("execution_start", {"prompt_id": prompt_id})
        add_message("execution_cached", {"nodes": [], "prompt_id": prompt_id})
        results: dict[str, tuple[Any, ...]] = {}
        ui: dict[str, Any] = {}
        try:
            for output in outputs:
                self._run_node(prompt_id, prompt, output, results, ui)
            add_message("execution_success", {"prompt_id": prompt_id})
        except _NodeFailed as failed:
            self._report_failure(add_message, prompt_id, prompt, failed, results)
        self.last_node_id = None
        success = messages[-1][0] == "execution_success"
        status = {"status_str": "success" if success else "error", "completed": success,
                  "messages": [list(m) for m in messages]}
        meta = {nid: {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}
                for nid in ui}
        return {"outputs": ui, "meta": meta}, status

    def _run_node(self, prompt_id: str, prompt: dict[str, Any], node_id: str,
                  results: dict[str, tuple[Any, ...]], ui: dict[str, Any]) -> None:
        if node_id in results:
            return
        node = prompt[node_id]
        for value in node["inputs"].values():
            if isinstance(value, list):
                self._run_node(prompt_id, prompt, str(value[0]), results, ui)
        kwargs = {k: results[str(v[0])][v[1]] if isinstance(v, list) else v
                  for k, v in node["inputs"].items()}
        ctx = self.run_context(prompt_id, node_id)
        try:
            ctx.pause(0)  # before_node_execution: an interrupt stops the prompt between nodes
            self.last_node_id = node_id
            if self.client_id is not None:
                self.hub.send("executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id},
                              self.client_id)
            ctx.pause(self.step_delay)
            out = NODE_TYPES[node["class_type"]]().run(ctx, **kwargs)
        except Exception as ex:
            raise _NodeFailed(node_id, ex, kwargs) from ex
        results[node_id] = out.get("result", ()) if isinstance(out, dict) else out
        if isinstance(out, dict) and "ui" in out:
            ui[node_id] = out["ui"]
            if self.client_id is not None:
                self.hub.send("executed", {"node": node_id, "display_node": node_id, "output": out["ui"],
                                           "prompt_id": prompt_id}, self.client_id)

    def _report_failure(self, add_message: Any, prompt_id: str, prompt: dict[str, Any],
                        failed: _NodeFailed, results: dict[str, Any]) -> None:
        base = {"prompt_id": prompt_id, "node_id": failed.node_id,
                "node_type": prompt[failed.node_id]["class_type"], "executed": list(results)}
        if isinstance(failed.cause, Interrupted):
            add_message("execution_interrupted", base, broadcast=True)
            return
        add_message("execution_error", {
            **base, "exception_message": f"{failed.cause}\n",
            "exception_type": _type_name(type(failed.cause)),
            "traceback": traceback.format_tb(failed.cause.__traceback__),
            "current_inputs": {k: [v if isinstance(v, int | float | bool | str) else str(v)]
                               for k, v in failed.inputs.items()},
            "current_outputs": [],
        })

    def _progress(self, prompt_id: str, node_id: str, value: int, maximum: int) -> None:
        if self.interrupt_event.is_set():  # ComfyUI's progress hook throws when interrupted
            raise Interrupted("Processing interrupted")
        self.hub.send("progress", {"value": value, "max": maximum, "prompt_id": prompt_id, "node": node_id},
                      self.client_id)
        state = {"value": value, "max": maximum, "state": "running", "node_id": node_id,
                 "prompt_id": prompt_id, "display_node_id": node_id, "parent_node_id": None,
                 "real_node_id": node_id}
        self.hub.send("progress_state", {"prompt_id": prompt_id, "nodes": {node_id: state}}, self.client_id)

    def _preview(self, image: Image.Image) -> None:
        buffer = io.BytesIO()
        image.convert("RGB").resize((64, 64)).save(buffer, format="PNG")
        # PREVIEW_IMAGE (1), then the image type (2 = PNG), then the image, as server.py sends it.
        self.hub.send_bytes(struct.pack(">I", 1) + struct.pack(">I", 2) + buffer.getvalue(), self.client_id)

    def _queue_changed(self) -> None:
        self.hub.send("status", {"status": self.queue_info()}, None)

    def queue_info(self) -> dict[str, Any]:
        return {"exec_info": {"queue_remaining": self.queue.tasks_remaining()}}

    # -- HTTP and websocket ------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        from tests.support.fake_comfyui_routes import routes_for

        routes: list[Any] = routes_for(self)
        routes.append(WebSocketRoute("/ws", self._websocket))
        prefixed = [Route("/api" + r.path, r.endpoint, methods=r.methods)
                    for r in routes if isinstance(r, Route)]
        return Starlette(routes=[*routes, *prefixed, WebSocketRoute("/api/ws", self._websocket)])

    async def _websocket(self, websocket: WebSocket) -> None:
        if not self.websocket_enabled:
            await websocket.close()  # before accept: the handshake is refused with 403
            return
        await websocket.accept()
        sid = websocket.query_params.get("clientId") or uuid.uuid4().hex
        outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.hub.register(sid, asyncio.get_running_loop(), outbox)
        await websocket.send_json({"type": "status", "data": {"status": self.queue_info(), "sid": sid}})
        if self.client_id == sid and self.last_node_id is not None:
            await websocket.send_json({"type": "executing", "data": {"node": self.last_node_id}})
        pump = asyncio.create_task(self._pump(websocket, outbox))
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.hub.unregister(sid, outbox)
            pump.cancel()

    async def _pump(self, websocket: WebSocket, outbox: asyncio.Queue[Any]) -> None:
        sent = 0
        with contextlib.suppress(Exception):
            while True:
                frame = await outbox.get()
                if self.drop_websocket_after is not None and sent >= self.drop_websocket_after:
                    await websocket.close(code=1011)
                    return
                if isinstance(frame, bytes):
                    await websocket.send_bytes(frame)
                else:
                    await websocket.send_text(json.dumps(frame))
                sent += 1

    # -- used by the routes --------------------------------------------------------------------

    def submit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /prompt``: (status, body)."""
        if "number" in body:
            number: float = float(body["number"])
        else:
            number = -self._number if body.get("front") else self._number
            self._number += 1
        if "prompt" not in body:
            no_prompt = {"type": "no_prompt", "message": "No prompt provided",
                         "details": "No prompt provided", "extra_info": {}}
            return 400, {"error": no_prompt, "node_errors": {}}
        prompt = copy.deepcopy(body["prompt"])
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        valid, error, outputs, node_errors = validate_prompt(prompt, self.run_context())
        if not valid:
            return 400, {"error": error, "node_errors": node_errors}
        extra_data = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra_data["client_id"] = body["client_id"]
        self.queue.put((number, prompt_id, prompt, extra_data, outputs))
        return 200, {"prompt_id": prompt_id, "number": number, "node_errors": node_errors}

    def interrupt(self, prompt_id: str | None) -> None:
        running, _pending = self.queue.current()
        if prompt_id is None or any(item[1] == prompt_id for item in running):
            self.interrupt_event.set()

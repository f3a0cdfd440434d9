"""Requests sent straight to an app over ASGI, in the event loop of a running ``TestClient``: the
path exactly as written (httpx would clean ``..`` away, as curl --path-as-is would not), and
streams read until a condition holds, then disconnected (TestClient would wait for the end)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any
from urllib.parse import unquote

import anyio
from fastapi.testclient import TestClient


def raw_request(client: TestClient, target: str, key: str, *, stop_when: Callable[[bytes], bool] | None = None,
                timeout: float = 20.0) -> Future[tuple[int, bytes]]:
    """GET ``target`` as written; (status, body) once the response ends, ``stop_when(body so far)``
    holds (the client then disconnects), or ``timeout`` passes."""
    path, _, query = target.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": unquote(path), "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    def body() -> bytes:
        return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    async def call() -> tuple[int, bytes]:
        done = anyio.Event()
        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # a response listening for a disconnect hears it when we are done
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            ended = message["type"] == "http.response.body" and not message.get("more_body")
            if ended or (stop_when is not None and stop_when(body())):
                done.set()

        with anyio.move_on_after(timeout):
            await client.app(scope, receive, send)
        return (sent[0]["status"] if sent else 0), body()

    assert client.portal is not None, "the TestClient must be running (used as a context manager)"
    return client.portal.start_task_soon(call)


def raw_get(client: TestClient, target: str, key: str) -> tuple[int, bytes]:
    return raw_request(client, target, key).result(timeout=60)

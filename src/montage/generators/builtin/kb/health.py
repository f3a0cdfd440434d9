"""health_check: ask a URL whether it is up, and record the answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from montage import outbound
from montage.errors import GeneratorError, UrlRefused
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.registry import register

#: How often a stage waiting for its request looks whether the task was canceled or timed out.
_WATCH_S = 0.1


class _Empty(GeneratorConfig):
    pass


def check_url(url: str, method: str, timeout_s: float, expected: list[int] | None) -> dict[str, Any]:
    """One request to ``url``: whether the answer counts as healthy, its status and latency.
    ``UrlRefused`` if montage may not call it (no answer would change that)."""
    started = time.perf_counter()
    result: dict[str, Any] = {"url": url, "method": method, "checked_at": datetime.now(UTC).isoformat()}
    try:
        with httpx.Client(transport=outbound.GuardedTransport(), timeout=timeout_s, follow_redirects=True) as client:
            response = client.request(method, url)
    except httpx.HTTPError as exc:
        return {**result, "healthy": False, "status_code": None,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "error": f"{type(exc).__name__}: {exc}"}
    code = response.status_code
    healthy = code in expected if expected else 200 <= code < 400
    return {**result, "healthy": healthy, "status_code": code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "error": None if healthy else f"status {code}"}


def while_watching(ctx: StageContext, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``call()`` in a thread of its own, while this one checks that the task may go on: a
    cancel or the task's timeout stops the stage at once instead of when the answer comes
    (the request thread, left behind, ends by its own ``timeout``)."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def request() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the stage's thread, which raises it
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=request, name="health-check", daemon=True).start()
    while not done.wait(_WATCH_S):
        ctx.check_cancelled()
    if "error" in outcome:
        raise outcome["error"]
    value: dict[str, Any] = outcome["value"]
    return value


@register
class HealthCheck:
    """GET (or HEAD) ``payload.url`` within ``payload.timeout`` seconds."""

    name: ClassVar[str] = "kb.health_check"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        payload = ctx.input["payload"]
        ctx.check_cancelled()
        try:
            result = while_watching(ctx, lambda: check_url(
                payload["url"], payload.get("method", "GET"), float(payload.get("timeout", 10.0)),
                payload.get("expected_status")))
        except UrlRefused as exc:
            raise GeneratorError(exc.message, code=exc.code, retryable=False, url=payload["url"]) from None
        ctx.check_cancelled()  # canceled, or past the task's timeout, just as the answer came
        ctx.log(f"{payload['url']}: {'healthy' if result['healthy'] else 'unhealthy'} "
                f"({result['status_code']}, {result['latency_ms']} ms)")
        if not result["healthy"] and payload.get("fail_on_unhealthy", True):
            raise GeneratorError(f"{payload['url']} is unhealthy: {result['error']}", code="HEALTH_CHECK_FAILED")
        ctx.progress(100, "checked")
        return result

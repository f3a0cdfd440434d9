"""A typed HTTP client for the core API; the CLI and the tests use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from httpx_sse import connect_sse

from montage.errors import MontageError


class ApiError(MontageError):
    """The server refused the request."""

    code = "API_ERROR"

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message, **details)
        self.status = status
        self.code = code  # type: ignore[misc]


class MontageClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", *, timeout: float = 30.0,
                 token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> MontageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise _api_error(response)
        return response.json()

    def health(self) -> dict[str, Any]:
        return dict(self.http.get("/health").json())

    def submit(self, pipeline: str, job_input: dict[str, Any] | None = None, *, priority: str = "normal",
               timeout_s: float | None = None, schedule_for: str | None = None,
               idempotency_key: str | None = None, start: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"pipeline": pipeline, "input": job_input or {}, "priority": priority,
                                "start": start}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        if schedule_for is not None:
            body["schedule_for"] = schedule_for
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return dict(self._call("POST", "/api/v1/jobs", json=body, headers=headers))

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/jobs/{job_id}"))

    def jobs(self, *, status: list[str] | None = None, pipeline: str | None = None, limit: int = 50,
             offset: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        if pipeline:
            params["pipeline"] = pipeline
        return dict(self._call("GET", "/api/v1/jobs", params=params))

    def approve(self, job_id: str, stage: str, comment: str | None = None) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/jobs/{job_id}/approve", json={"stage": stage, "comment": comment}))

    def reject(self, job_id: str, stage: str, reason: str, comment: str | None = None) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/jobs/{job_id}/reject",
                               json={"stage": stage, "reason": reason, "comment": comment}))

    def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/jobs/{job_id}/cancel"))

    def retry(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/jobs/{job_id}/retry"))

    def pipelines(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/pipelines")["pipelines"])

    def events(self, job_id: str, last_event_id: int = 0) -> Iterator[dict[str, Any]]:
        """Follow the job's event stream until it ends (after the terminal event)."""
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id else {}
        with connect_sse(self.http, "GET", f"/api/v1/jobs/{job_id}/events", headers=headers,
                         timeout=httpx.Timeout(30.0, read=None)) as source:
            if source.response.status_code >= 400:
                source.response.read()
                raise _api_error(source.response)
            for sse in source.iter_sse():
                if sse.data:
                    yield json.loads(sse.data)


def _api_error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, "HTTP_ERROR", response.text[:200], {})
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ApiError(response.status_code, str(error.get("code")), str(error.get("message")),
                        dict(error.get("details") or {}))
    return ApiError(response.status_code, "HTTP_ERROR", json.dumps(body)[:200], {})

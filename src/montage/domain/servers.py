"""Processing servers: what they are, when they take work, and how a health probe moves them.

A server is a ComfyUI instance, a service speaking montage's generic http generator protocol,
or ``local`` — this montage's own executors. ``batch_size`` is its concurrency: every stage
that runs on a server goes through that server's own queue (:func:`server_queue`), whose global
concurrency is ``batch_size``, so the limit holds across jobs and montage processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from montage.errors import ValidationFailed

#: Queues named so are one processing server's own; their global concurrency is its batch_size.
SERVER_QUEUE_PREFIX = "server:"
MAX_BATCH_SIZE = 1000
MAX_NAME_LENGTH = 100


class ServerType(StrEnum):
    COMFYUI = "comfyui"
    HTTP = "http"
    LOCAL = "local"


class ServerStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    BUSY = "busy"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class Server:
    id: int
    name: str
    url: str
    type: ServerType
    enabled: bool
    batch_size: int
    status: ServerStatus
    current_task_id: str | None
    health: str | None  # "healthy" / "unhealthy" after the last probe, None before the first
    health_error: str | None
    checked_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def queue(self) -> str:
        return server_queue(self.name)

    @property
    def takes_work(self) -> bool:
        """Whether stages queued for it may run now (a batch already started keeps going)."""
        return self.enabled and self.status in (ServerStatus.ONLINE, ServerStatus.BUSY)

    def unavailable_reason(self) -> str | None:
        """Why a new batch cannot start on it now, or None when it can."""
        if not self.enabled:
            return f"server {self.name!r} is disabled"
        if self.current_task_id is not None:
            return f"server {self.name!r} is processing task {self.current_task_id}"
        if self.status != ServerStatus.ONLINE:
            return f"server {self.name!r} is {self.state_words}"
        return None

    def away_since(self) -> datetime:
        """When it stopped taking work, for a server that does not take work now: its last change
        (a probe that moved it, an operator's status or ``enabled``), never earlier than that."""
        changed = self.updated_at
        return changed if changed.tzinfo is not None else changed.replace(tzinfo=UTC)

    @property
    def state_words(self) -> str:
        """Its state as a sentence says it: "offline", "busy", "in maintenance", "disabled"."""
        if not self.enabled:
            return "disabled"
        return "in maintenance" if self.status == ServerStatus.MAINTENANCE else self.status.value


def server_queue(name: str) -> str:
    """The DBOS queue of the server called ``name``."""
    return f"{SERVER_QUEUE_PREFIX}{name}"


def status_after_probe(current: ServerStatus, healthy: bool, has_task: bool) -> ServerStatus:
    """Where a probe moves a server: maintenance stays (an operator's word); a healthy server
    comes online (busy while it holds a task); an unhealthy one goes offline."""
    if current == ServerStatus.MAINTENANCE:
        return current
    if not healthy:
        return ServerStatus.OFFLINE
    if current == ServerStatus.OFFLINE:
        return ServerStatus.BUSY if has_task else ServerStatus.ONLINE
    return current


def parse_status(value: object) -> ServerStatus:
    allowed = [s.value for s in ServerStatus]
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(f"status must be one of: {', '.join(allowed)} (got {value!r})",
                               field="status", received=value, allowed=allowed)
    return ServerStatus(value)


def parse_type(value: object) -> ServerType:
    allowed = [t.value for t in ServerType]
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(f"type must be one of: {', '.join(allowed)} (got {value!r})",
                               field="type", received=value, allowed=allowed)
    return ServerType(value)


def check_url(url: object) -> str:
    """A valid http(s) URL with a host, without a trailing slash."""
    text = url.strip() if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or " " in text:
        raise ValidationFailed(f"url must be a valid http:// or https:// URL (got {url!r})", field="url",
                               received=url)
    return text.rstrip("/")


def check_batch_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_BATCH_SIZE:
        raise ValidationFailed(f"batch_size must be an integer greater than 0 and at most {MAX_BATCH_SIZE} "
                               f"(got {value!r})", field="batch_size", received=value)
    return value


def check_name(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_NAME_LENGTH or "/" in text:
        raise ValidationFailed(f"name must be 1 to {MAX_NAME_LENGTH} characters without '/' (got {value!r})",
                               field="name", received=value)
    return text

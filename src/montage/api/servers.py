"""Processing servers (``shared/seeds/servers-batch-workflows-api.md`` §1): ``/servers…``.

A server is addressed by its name (or its numeric id). Status is ``online``, ``offline``,
``busy`` or ``maintenance``; the executor's monitor keeps it current by probing the server.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from montage.api.registry import registry, seed_time
from montage.domain.servers import Server
from montage.services.servers import NewServer

router = APIRouter(prefix="/servers", tags=["servers"])


class RegisterServer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(description="Unique name.")
    url: str = Field(description="http:// or https:// URL of the server.")
    type: str = Field("local", description="comfyui, http (montage's generic protocol) or local.")
    enabled: bool = True
    batch_size: int = Field(1, description="How many stages may run on it at once (> 0).")


class UpdateServer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str | None = None
    enabled: bool | None = None
    batch_size: int | None = None
    type: str | None = None


def server_body(server: Server) -> dict[str, Any]:
    return {"id": server.id, "name": server.name, "url": server.url, "type": server.type.value,
            "enabled": server.enabled, "batch_size": server.batch_size, "status": server.status.value,
            "current_task_id": server.current_task_id, "health": server.health,
            "last_checked_at": seed_time(server.checked_at)}


@router.post("/register", summary="Register a server (offline until its first health probe)")
def register(body: RegisterServer, request: Request) -> dict[str, Any]:
    new = NewServer(name=body.name, url=body.url, type=body.type, enabled=body.enabled, batch_size=body.batch_size)
    return server_body(registry(request).servers.register(new))


@router.get("", summary="List servers")
def list_servers(request: Request, skip: Annotated[int, Query(ge=0)] = 0,
                 limit: Annotated[int, Query(ge=1, le=100)] = 100) -> list[dict[str, Any]]:
    return [server_body(s) for s in registry(request).servers.list_servers(skip=skip, limit=limit)]


@router.get("/available", summary="Servers that can take a batch now: enabled, online, not busy")
def available(request: Request) -> list[dict[str, Any]]:
    return [server_body(s) for s in registry(request).servers.available()]


@router.get("/{server_id}", summary="A server")
def get_server(server_id: str, request: Request) -> dict[str, Any]:
    return server_body(registry(request).servers.get(server_id))


@router.put("/{server_id}", summary="Change url, enabled, batch_size or type")
def update_server(server_id: str, body: UpdateServer, request: Request) -> dict[str, Any]:
    return server_body(registry(request).servers.update(server_id, body.model_dump()))


@router.delete("/{server_id}", summary="Delete a server (not while it processes a task)")
def delete_server(server_id: str, request: Request) -> dict[str, str]:
    registry(request).servers.delete(server_id)
    return {"message": "Server deleted successfully"}


@router.put("/{server_id}/status", summary='Set the status; the body is a bare JSON string, e.g. "online"')
def set_status(server_id: str, request: Request,
               status: Annotated[str, Body(description="online, offline, busy or maintenance")]) -> dict[str, Any]:
    return server_body(registry(request).servers.set_status(server_id, status))


@router.get("/{server_id}/health", summary="Probe the server now: healthy or unhealthy")
def health(server_id: str, request: Request) -> dict[str, Any]:
    healthy, server = registry(request).servers.check_health(server_id)
    body: dict[str, Any] = {"status": "healthy" if healthy else "unhealthy"}
    if not healthy:
        body["error"] = server.health_error
    return body

"""API key administration over HTTP, ``/api/v1/keys`` (admin keys only; the CLI's
``montage keys`` does the same on the database directly)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from montage.api.core import iso
from montage.domain.access import ApiKey
from montage.services.keys import KeyService

router = APIRouter(prefix="/api/v1/keys", tags=["access"])


class CreateKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the key is for.")
    scope: Literal["read", "write", "admin"] = Field(description="read: GET; write: also changes; admin: all.")
    expires_in: str | None = Field(None, max_length=32, description="Lifetime: 3600, 30m, 12h, 30d, 2w; none: never.")


def key_service(request: Request) -> KeyService:
    service: KeyService = request.app.state.gate.keys
    return service


def key_body(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "scope": key.scope.word, "prefix": key.prefix,
            "created_at": iso(key.created_at), "expires_at": iso(key.expires_at),
            "revoked_at": iso(key.revoked_at), "last_used_at": iso(key.last_used_at)}


@router.get("", summary="Every API key (never their secrets)")
def list_keys(request: Request) -> dict[str, Any]:
    return {"keys": [key_body(k) for k in key_service(request).list()]}


@router.post("", status_code=201, summary="Create a key; its secret is in this answer and nowhere else")
def create_key(body: CreateKey, request: Request) -> dict[str, Any]:
    created = key_service(request).create(body.name, body.scope, body.expires_in)
    return {**key_body(created.key), "key": created.secret}


@router.delete("/{key_id}", summary="Revoke a key (at once in this process; within auth_cache_s in others)")
def revoke_key(key_id: str, request: Request) -> dict[str, Any]:
    return key_body(key_service(request).revoke(key_id))

"""Who may call what: API keys on every route, scopes, signed asset links and per-key rate limits.

One pure ASGI middleware decides before any router runs, so a new route is covered the day it is
added (``tests/e2e/test_auth_routes.py`` walks ``app.routes`` to prove it). It:

- lets through the few public paths (``/health``, the dashboard's static page, the API docs, and
  ``/metrics`` when ``metrics_public`` is set);
- in the open dev mode (no keys configured, loopback address or ``--insecure``) lets everything
  through as the anonymous admin;
- otherwise reads ``Authorization: Bearer <key>`` (or ``?access_token=`` on a GET, for the
  dashboard's EventSource and media elements, which cannot send headers) → 401 without a valid
  key, 403 if its scope is too small, 429 with ``Retry-After`` over the key's request rate;
- accepts a signed, unexpired ``/assets/…?expires=…&signature=…`` link without a key;
- sets the request's :class:`~montage.domain.access.Principal`, which the store uses to hide other
  keys' jobs (they are "not found").

Refusals use the error body of the contract being called (``app.state.error_shapes``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from montage.api.errors import error_response
from montage.domain import access
from montage.domain.access import Principal
from montage.services.asset_links import AssetLinks
from montage.services.keys import KeyService
from montage.services.limits import RateLimiter, StreamCounter, StreamSlot, retry_after_header
from montage.services.runtime import Runtime
from montage.services.secrets_store import server_secret

log = logging.getLogger("montage.auth")

PUBLIC_PATHS = frozenset({"/health", "/", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
PUBLIC_PREFIXES = ("/ui/", "/favicon")
#: Paths whose every method needs an admin key; and paths whose writes do.
ADMIN_PATHS = ("/api/v1/keys",)
ADMIN_WRITES = ("/servers",)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGNED_LINK = Principal(key_id=None, name="signed link", scope=access.Scope.READ)


@dataclass
class Gate:
    """What the middleware consults; built in the app's lifespan."""

    keys: KeyService
    links: AssetLinks
    rate: RateLimiter
    streams: StreamCounter
    open_allowed: bool
    metrics_public: bool

    async def is_open(self) -> bool:
        """The dev mode: no keys configured, on a loopback address (or ``--insecure``)."""
        if not self.open_allowed:
            return False
        configured = self.keys.configured_cached()
        if configured is None:
            configured = await asyncio.to_thread(self.keys.configured)
        return not configured


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) only listens on this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def required_scope(method: str, path: str) -> access.Scope:
    """Read for GET, write for anything that changes state, admin for key and server admin."""
    if _under(path, ADMIN_PATHS):
        return access.Scope.ADMIN
    if method in READ_METHODS:
        return access.Scope.READ
    return access.Scope.ADMIN if _under(path, ADMIN_WRITES) else access.Scope.WRITE


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def bearer_token(scope: Scope) -> str | None:
    """The key offered with the request: the Bearer header, else ``access_token`` on a GET."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    if scope["method"] in READ_METHODS and b"access_token=" in scope.get("query_string", b""):
        values = parse_qs(scope["query_string"].decode("latin-1")).get("access_token")
        return values[0] if values else None
    return None


class Authenticate:
    """The middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app, self.owner = app, owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate: Gate | None = getattr(self.owner.state, "gate", None)
        if scope["type"] != "http" or self._public(scope["path"], gate):
            await self.app(scope, receive, send)
            return
        if gate is None:  # not started (or started without its lifespan): closed, never open
            response = error_response(self.owner, scope["path"], 503, "SERVICE_UNAVAILABLE",
                                      "the server is starting", {})
            await response(scope, receive, send)
            return
        try:
            principal, refusal = await self._identify(scope, gate)
        except OperationalError:  # the key lookup needs the database: away, as every route says, 503
            refusal = (503, "SERVICE_UNAVAILABLE", "the database is unavailable; try again", {},
                       {"Retry-After": "5"})
            principal = None
        if refusal is not None:
            status, code, message, details, headers = refusal
            response = error_response(self.owner, scope["path"], status, code, message, details, headers)
            await response(scope, receive, send)
            return
        token = access.enter(principal)
        try:
            await self.app(scope, receive, send)
        finally:
            access.leave(token)

    @staticmethod
    def _public(path: str, gate: Gate | None) -> bool:
        if path in PUBLIC_PATHS or path == "/ui" or path.startswith(PUBLIC_PREFIXES):
            return True
        return path == "/metrics" and gate is not None and gate.metrics_public

    async def _identify(self, scope: Scope, gate: Gate) -> tuple[Principal | None, Refusal | None]:
        path, method = scope["path"], scope["method"]
        if await gate.is_open():
            return access.ANONYMOUS, None
        token = bearer_token(scope)
        if path.startswith("/assets/") and b"signature=" in scope.get("query_string", b""):
            query = parse_qs(scope["query_string"].decode("latin-1"))
            if gate.links.valid(path, _first(query, "expires"), _first(query, "signature")):
                return SIGNED_LINK, None
            if token is None:  # with a key, a stale link still works for the key's own files
                return None, (403, "INVALID_LINK", "this link is invalid or has expired", {}, None)
        if token is None:
            return None, _unauthorized("MISSING_API_KEY", "an API key is required: Authorization: Bearer <key>")
        principal = gate.keys.authenticate_cached(token)
        if principal == "miss":
            principal = await asyncio.to_thread(gate.keys.authenticate, token)
        if principal is None:
            return None, _unauthorized("INVALID_API_KEY", "the API key is unknown, revoked or expired")
        assert isinstance(principal, Principal)
        needed = required_scope(method, path)
        if principal.scope < needed:
            return None, (403, "FORBIDDEN", f"this key's scope is {principal.scope.word}; {method} {path} needs "
                          f"{needed.word}", {"scope": principal.scope.word, "required": needed.word}, None)
        wait = gate.rate.take(principal.key_id or "")
        if wait > 0:
            return None, (429, "RATE_LIMITED", "too many requests for this key; slow down",
                          {"retry_after_s": round(wait, 3)}, {"Retry-After": retry_after_header(wait)})
        return principal, None


Refusal = tuple[int, str, str, dict[str, Any], dict[str, str] | None]


def _unauthorized(code: str, message: str) -> Refusal:
    return 401, code, message, {}, {"WWW-Authenticate": 'Bearer realm="montage"'}


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def open_gate(runtime: Runtime) -> Gate:
    """The gate for this process's settings; logs whether the server is open or needs keys."""
    settings = runtime.settings
    link_secret = settings.asset_link_secret.get_secret_value() if settings.asset_link_secret else None
    gate = Gate(
        keys=KeyService(runtime),
        links=AssetLinks(server_secret(settings.data_dir, "asset-links", link_secret), settings.asset_link_ttl_s),
        rate=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        streams=StreamCounter(settings.max_streams_per_key),
        open_allowed=is_loopback(settings.host) or settings.insecure,
        metrics_public=settings.metrics_public,
    )
    if gate.keys.configured():
        log.info("API keys are required (Authorization: Bearer <key>)")
    elif gate.open_allowed:
        log.warning("montage is OPEN: no API keys are configured, so every request is allowed (dev mode on %s%s). "
                    "Create one with `montage keys create` to require keys.", settings.host,
                    ", --insecure" if settings.insecure else "")
    else:
        log.warning("no API keys are configured and %s is not a loopback address: every request will get 401 "
                    "until a key is created (`montage keys create`)", settings.host)
    return gate


def stream_slot(request: Request) -> StreamSlot | None:
    """Hold one of the caller's concurrent event streams (429 when it has too many), or None
    when the caller is not a key (dev mode)."""
    principal = access.current()
    gate: Gate | None = getattr(request.app.state, "gate", None)
    if gate is None or principal is None or principal.key_id is None:
        return None
    return gate.streams.acquire(principal.key_id)

"""Who is asking: API key scopes, the principal of a request, and what it may see.

The principal of the request being served lives in a context variable, set once by the API's
authentication middleware; services and repositories read it through :func:`current` so a job
owned by another key is "not found" wherever it is looked up. Code that runs outside a request
(the engine, the CLI) has no principal and sees everything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime


class Scope(enum.IntEnum):
    """What a key may do; each scope includes the ones below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: str) -> Scope:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"scope must be one of: {', '.join(s.name.lower() for s in cls)}") from None

    @property
    def word(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class ApiKey:
    """A stored key (its secret is never kept, only a hash of it)."""

    id: str
    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a key, or nobody in the open dev mode."""

    key_id: str | None
    name: str
    scope: Scope

    @property
    def sees_all(self) -> bool:
        """Admin keys and the open dev mode see every job; other keys only their own."""
        return self.key_id is None or self.scope >= Scope.ADMIN

    def may_see(self, owner_key_id: str | None) -> bool:
        return self.sees_all or owner_key_id == self.key_id


#: The open dev mode (loopback, no keys): everything allowed, no owner recorded.
ANONYMOUS = Principal(key_id=None, name="anonymous", scope=Scope.ADMIN)

_current: ContextVar[Principal | None] = ContextVar("montage_principal", default=None)


def current() -> Principal | None:
    """The principal of the request being served, or None outside a request."""
    return _current.get()


def owner_filter() -> str | None:
    """The key id reads must be limited to, or None when the caller sees everything."""
    principal = _current.get()
    return None if principal is None or principal.sees_all else principal.key_id


def creating_key() -> str | None:
    """The key id to record as the owner of something created now."""
    principal = _current.get()
    return None if principal is None else principal.key_id


def enter(principal: Principal | None) -> Token[Principal | None]:
    """Act as ``principal`` until :func:`leave` (the middleware's task, around one request)."""
    return _current.set(principal)


def leave(token: Token[Principal | None]) -> None:
    _current.reset(token)


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Run a block as ``principal`` (tests, and code that serves a request off its task)."""
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)

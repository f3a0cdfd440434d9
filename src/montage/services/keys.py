"""API keys: create (the secret is shown once, only its hash is kept), list, revoke, and
authenticate a bearer token in constant time.

A key is ``mtg_`` + 43 URL-safe characters (256 random bits) unless an existing token is
adopted. Its SHA-256 is stored; a request's token is hashed, looked up by that hash and then
compared with :func:`hmac.compare_digest`, so neither the lookup nor the comparison tells an
attacker how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from montage.domain.access import ApiKey, Principal, Scope
from montage.errors import ValidationFailed
from montage.services.runtime import Runtime
from montage.store import keys as keys_repo
from montage.store.access_models import ApiKeyRow
from montage.store.jobs import utcnow

log = logging.getLogger("montage.auth")
KEY_PREFIX = "mtg_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_NEGATIVE_CACHE = 4096


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``secret`` is the only copy of the key there will ever be."""

    key: ApiKey
    secret: str


def parse_duration(text: str) -> timedelta:
    """``90``, ``30m``, ``12h``, ``30d``, ``2w`` → a positive duration."""
    match = _DURATION.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise ValidationFailed("expires_in must be a positive duration such as 3600, 30m, 12h, 30d or 2w",
                               field="expires_in", received=text)
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Keys in the database, with a short-lived cache so a request costs no query when warm."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.cache_s = runtime.settings.auth_cache_s
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, ApiKey, str]] = {}
        self._unknown: dict[str, float] = {}
        self._configured: tuple[float, bool] = (-1e9, False)

    # -- administration ------------------------------------------------------------------------
    def create(self, name: str, scope: str | Scope, expires_in: str | timedelta | None = None, *,
               secret: str | None = None) -> NewKey:
        """A new key. ``secret`` adopts a token clients already hold (at least 16 characters) instead
        of generating one, e.g. the bearer tokens of an existing video API deployment."""
        name = (name or "").strip()
        if not 1 <= len(name) <= 200:
            raise ValidationFailed("name must be 1 to 200 characters", field="name")
        try:
            level = scope if isinstance(scope, Scope) else Scope.parse(scope)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="scope", received=scope,
                                   allowed=[s.word for s in Scope]) from None
        lifetime = parse_duration(expires_in) if isinstance(expires_in, str) else expires_in
        if secret is not None and not 16 <= len(secret) <= 200:
            raise ValidationFailed("a key must be 16 to 200 characters", field="secret")
        secret = secret or KEY_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        row = ApiKeyRow(id=f"key_{uuid.uuid4().hex[:16]}", name=name, scope=level.word, prefix=secret[:10],
                        secret_hash=hash_secret(secret), created_at=now,
                        expires_at=now + lifetime if lifetime else None, revoked_at=None, last_used_at=None)
        with self.db.transaction() as s:
            key = keys_repo.insert_key(s, row)
        self._forget()
        return NewKey(key, secret)

    def list(self) -> list[ApiKey]:
        with self.db.read() as s:
            return keys_repo.list_keys(s)

    def revoke(self, key_id: str) -> ApiKey:
        with self.db.transaction() as s:
            key = keys_repo.revoke(s, key_id, utcnow())
        self._forget()
        return key

    def _touch(self, key_id: str) -> None:
        """``last_used_at``, written when a key is read from the database: at most once per
        ``auth_cache_s`` per process, never on the cached hot path."""
        try:
            with self.db.transaction() as s:
                keys_repo.touch(s, key_id, utcnow())
        except Exception:  # a busy database must not turn a valid key away
            log.debug("could not record the use of key %s", key_id, exc_info=True)

    def _forget(self) -> None:
        with self._lock:
            self._known.clear()
            self._unknown.clear()
            self._configured = (-1e9, False)

    # -- authentication ------------------------------------------------------------------------
    def configured(self) -> bool:
        """Whether any key exists that is not revoked (then every request needs one)."""
        checked_at, answer = self._configured
        if time.monotonic() - checked_at < self.cache_s:
            return answer
        with self.db.read() as s:
            answer = keys_repo.count_unrevoked(s) > 0
        self._configured = (time.monotonic(), answer)
        return answer

    def configured_cached(self) -> bool | None:
        """:meth:`configured` if known without a query, else None."""
        checked_at, answer = self._configured
        return answer if time.monotonic() - checked_at < self.cache_s else None

    def authenticate_cached(self, token: str) -> Principal | Literal["miss"] | None:
        """:meth:`authenticate` if it needs no query, else ``"miss"`` (call that, off the event loop)."""
        if not 16 <= len(token) <= 200:
            return None
        digest = hash_secret(token)
        clock = time.monotonic()
        with self._lock:
            hit = self._known.get(digest)
            if hit is not None and clock - hit[0] < self.cache_s:
                return self._principal(hit[1], hit[2], digest, utcnow())
            if clock - self._unknown.get(digest, -1e9) < self.cache_s:
                return None
        return "miss"

    def authenticate(self, token: str, now: datetime | None = None) -> Principal | None:
        """The principal of a bearer token, or None for an unknown, revoked or expired key."""
        if not 16 <= len(token) <= 200:
            return None
        digest = hash_secret(token)
        found = self._lookup(digest)
        return None if found is None else self._principal(*found, digest, now or utcnow())

    @staticmethod
    def _principal(key: ApiKey, stored: str, digest: str, now: datetime) -> Principal | None:
        if not hmac.compare_digest(stored, digest) or not key.active(now):
            return None
        return Principal(key_id=key.id, name=key.name, scope=key.scope)

    def _lookup(self, digest: str) -> tuple[ApiKey, str] | None:
        clock = time.monotonic()
        with self._lock:
            hit = self._known.get(digest)
            if hit is not None and clock - hit[0] < self.cache_s:
                return hit[1], hit[2]
            if clock - self._unknown.get(digest, -1e9) < self.cache_s:
                return None
        with self.db.read() as s:
            found = keys_repo.by_hash(s, digest)
        if found is not None and found[0].active(utcnow()):
            self._touch(found[0].id)
        with self._lock:
            if found is None:
                if len(self._unknown) >= _NEGATIVE_CACHE:
                    self._unknown.clear()
                self._unknown[digest] = clock
            else:
                self._known[digest] = (clock, *found)
        return found

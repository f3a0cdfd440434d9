"""Signed, expiring links to artifact files, so ``<video src>`` and shared downloads work
without an ``Authorization`` header.

A link is ``/assets/<job>/<path>?expires=<unix seconds>&signature=<hex>``; the signature is an
HMAC-SHA256, under a server secret, of the URL path and the expiry. Changing either breaks it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from montage.errors import ValidationFailed

MAX_TTL_S = 30 * 24 * 3600


class AssetLinks:
    def __init__(self, secret: str, default_ttl_s: float) -> None:
        self._secret = secret.encode()
        self.default_ttl_s = default_ttl_s

    def _mac(self, path: str, expires: int) -> str:
        return hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, job_id: str, relpath: str, ttl_s: float | None = None, now: float | None = None) -> tuple[str, int]:
        """(URL, expiry in unix seconds) of a link to ``relpath`` in the job's folder."""
        ttl = self.default_ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= MAX_TTL_S:
            raise ValidationFailed(f"ttl_s must be between 1 and {MAX_TTL_S}", field="ttl_s", received=ttl_s)
        path = f"/assets/{job_id}/{relpath}"
        expires = int((now if now is not None else time.time()) + ttl)
        return f"{quote(path)}?expires={expires}&signature={self._mac(path, expires)}", expires

    def valid(self, path: str, expires: str | None, signature: str | None, now: float | None = None) -> bool:
        """Whether ``signature`` signs ``path`` (decoded, as routed) until ``expires``, not yet past."""
        if not expires or not signature or not expires.isdigit() or len(signature) != 64:
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self._mac(path, int(expires)), signature)

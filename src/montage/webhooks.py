"""Verify montage's webhooks in a receiver: ``montage.webhooks.verify(body, headers, secret)``.

montage signs every delivery per Standard Webhooks (https://www.standardwebhooks.com/):
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`` (several, space-separated, while secrets rotate). ::

    from montage.webhooks import verify, WebhookVerificationError

    try:
        event = verify(request_body_bytes, request_headers, "whsec_…")   # or a list of secrets
    except WebhookVerificationError:
        return 400
    if seen_before(request_headers["webhook-id"]):   # retries reuse the id: deduplicate
        return 200

Pass the body exactly as received (bytes), before any JSON parsing. A timestamp more than five
minutes from now fails (replays of old deliveries are refused).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify"]


def verify(body: bytes | str, headers: Mapping[str, str], secrets: str | Sequence[str]) -> Any:
    """The delivery's JSON payload if one of ``secrets`` signed it within the last five minutes;
    :class:`WebhookVerificationError` otherwise (missing headers, tampered body or id, wrong secret,
    stale or future timestamp, malformed signature)."""
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not candidates:
        raise WebhookVerificationError("no secret to verify with")
    plain = {str(k): str(v) for k, v in headers.items()}
    last: Exception | None = None
    for secret in candidates:
        try:
            return Webhook(secret).verify(body, plain)
        except (WebhookVerificationError, ValueError, binascii.Error) as exc:
            last = exc
    raise WebhookVerificationError(str(last) or "no matching signature") from None

"""montage.webhooks.verify accepts what montage signs and nothing else."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from montage.services.webhooks import signature_headers
from montage.webhooks import WebhookVerificationError, verify

SECRET, OTHER = ("whsec_" + base64.b64encode(os.urandom(32)).decode() for _ in range(2))
BODY = json.dumps({"type": "job.completed", "data": {"job_id": "job_1"}})


def signed(at: datetime | None = None, secrets: tuple[str, ...] = (SECRET,)) -> dict[str, str]:
    return signature_headers(list(secrets), "msg_1", at or datetime.now(UTC), BODY)


def test_a_fresh_delivery_verifies() -> None:
    assert verify(BODY.encode(), signed(), SECRET)["data"]["job_id"] == "job_1"
    assert verify(BODY, signed(), [OTHER, SECRET])["type"] == "job.completed"


def test_rotation_each_secret_verifies_alone() -> None:
    headers = signed(secrets=(SECRET, OTHER))
    assert verify(BODY, headers, SECRET) == verify(BODY, headers, OTHER)


@pytest.mark.parametrize("tamper", [
    lambda h, b: (h, b.replace("job_1", "job_2")),                                  # body changed
    lambda h, b: ({**h, "webhook-id": "msg_2"}, b),                                 # id changed
    lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),  # timestamp changed
    lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b),                        # signature replaced
    lambda h, b: ({**h, "webhook-signature": "garbage"}, b),                        # malformed
    lambda h, b: ({**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}, b),  # unknown version
    lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b),            # header missing
])
def test_tampered_deliveries_fail(tamper: object) -> None:
    headers, body = tamper(signed(), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, SECRET)


def test_the_wrong_secret_fails() -> None:
    with pytest.raises(WebhookVerificationError):
        verify(BODY, signed(), OTHER)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, signed(), [])


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_and_future_timestamps_fail(offset: timedelta) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(BODY, signed(at=datetime.now(UTC) + offset), SECRET)

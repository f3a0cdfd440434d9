"""The guarded transport over real sockets: it connects to the address it checked, keeps the
Host header, and does not follow a redirect to a refused address."""

from __future__ import annotations

import httpx
import pytest

from montage.errors import UrlRefused
from montage.outbound import GuardedTransport, Policy
from tests.support.webhook_receiver import WebhookReceiver


def test_a_redirect_to_the_metadata_address_is_not_followed() -> None:
    with WebhookReceiver() as server, \
            httpx.Client(transport=GuardedTransport(Policy(allow_private=True)), follow_redirects=True) as client:
        assert client.get(f"{server.url}/plain").status_code == 200
        with pytest.raises(UrlRefused):
            client.get(f"{server.url}/redirect")


def test_names_are_pinned_to_the_checked_address() -> None:
    with WebhookReceiver() as server, httpx.Client(transport=GuardedTransport(Policy(allow_private=True))) as client:
        port = server.url.rsplit(":", 1)[1]
        response = client.post(f"http://localhost:{port}/named", content=b"{}")
        assert response.status_code == 200
    assert server.received[-1].headers["host"] == f"localhost:{port}"


def test_private_addresses_can_be_refused() -> None:
    with WebhookReceiver() as server, httpx.Client(transport=GuardedTransport(Policy(allow_private=False))) as client, \
            pytest.raises(UrlRefused):
        client.get(server.url)

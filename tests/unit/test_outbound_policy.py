"""Which addresses montage may call, with private ranges allowed and refused."""

from __future__ import annotations

import ipaddress

import pytest

from montage.errors import UrlRefused
from montage.outbound import Policy, address_refusal, check_literal, check_scheme, resolve

ALWAYS = ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254",
          "100.100.100.200", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1"]
PRIVATE = ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.10", "fc00::1", "100.64.0.1",
           "::ffff:10.0.0.1"]
PUBLIC = ["8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"]


@pytest.mark.parametrize("address", ALWAYS)
def test_link_local_and_metadata_are_always_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, Policy(allow_private=True)) and address_refusal(ip, Policy(allow_private=False))


@pytest.mark.parametrize("address", PRIVATE)
def test_private_follows_the_setting(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, Policy(allow_private=True)) is None
    assert address_refusal(ip, Policy(allow_private=False))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), Policy(allow_private=False)) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "http://", "javascript:x",
                                 "http://example.com:notaport/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_scheme(url)


def test_literal_addresses_are_checked_without_dns() -> None:
    assert str(resolve("127.0.0.1", 80, Policy(allow_private=True))) == "127.0.0.1"
    with pytest.raises(UrlRefused):
        resolve("[fd00:ec2::254]", 80, Policy(allow_private=True))


@pytest.mark.parametrize("url", ["http://169.254.169.254:8188", "http://[fd00:ec2::254]/", "https://0.0.0.0:443"])
def test_a_literal_refused_address_is_refused_without_dns(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_literal(url, Policy(allow_private=True))


def test_names_and_allowed_literals_pass_without_dns() -> None:
    assert check_literal("http://gpu-7.internal:8188", Policy(allow_private=False))
    assert check_literal("http://10.0.0.5:8188", Policy(allow_private=True))

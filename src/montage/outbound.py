"""The policy every URL montage calls must pass: webhooks, processing servers, upstream providers.

- only ``http`` and ``https``;
- link-local addresses and cloud metadata endpoints (169.254.0.0/16 with 169.254.169.254,
  fe80::/10, fd00:ec2::254, 100.100.100.200, …) are always refused, as are unspecified,
  multicast and reserved ones;
- loopback and private ranges are allowed or refused by ``outbound_allow_private`` (on-prem GPU
  servers live on private addresses, so the default allows them);
- the host is resolved once per request and the connection goes to the checked address (the
  "pinned" address: a DNS answer that changes between check and connect cannot slip through);
- a redirect is a new request through the same transport, so it is checked the same way.

:class:`GuardedTransport` applies this to an ``httpx`` client. The process sets its policy at start
(:func:`configure`, from settings); nothing is read at import.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from montage.errors import UrlRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Always refused, whatever the settings say: metadata services and link-local ranges.
ALWAYS_REFUSED = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16",      # IPv4 link-local, AWS/GCP/Azure/OpenStack metadata at 169.254.169.254
    "fe80::/10",           # IPv6 link-local
    "fd00:ec2::254/128",   # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "192.0.0.192/32",      # Oracle Cloud metadata
    "0.0.0.0/8", "::/128",  # "this host": reaches loopback on many systems
    "224.0.0.0/4", "ff00::/8",  # multicast
    "240.0.0.0/4",         # reserved
))


SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice


@dataclass(frozen=True)
class Policy:
    allow_private: bool = True


_policy = Policy()


def configure(allow_private: bool) -> None:
    """Set this process's policy (``outbound_allow_private``); called once at start."""
    global _policy
    _policy = Policy(allow_private=allow_private)


def current_policy() -> Policy:
    return _policy


def address_refusal(ip: IPAddress, policy: Policy) -> str | None:
    """Why montage must not connect to ``ip``, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in ALWAYS_REFUSED if net.version == ip.version):
        return f"{ip} is a link-local, metadata or reserved address"
    private = ip.is_loopback or ip.is_private or (ip.version == 4 and ip in SHARED_SPACE)
    if private and not policy.allow_private:
        return f"{ip} is a loopback or private address (outbound_allow_private is off)"
    return None


def check_scheme(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; ``UrlRefused`` for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"only http and https URLs may be called (got {url[:200]!r})", field="url", url=url[:200])
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("the URL's port is not a number", field="url", url=url[:200]) from None
    return parts.scheme, parts.hostname, port


def resolve(host: str, port: int, policy: Policy | None = None) -> IPAddress:
    """The address to connect to for ``host``: every address it resolves to must pass (one bad
    answer refuses the host), and the first is pinned."""
    policy = policy or _policy
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise UrlRefused(f"cannot resolve {host}: {exc}", field="url", host=host) from None
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in found:
        reason = address_refusal(ip, policy)
        if reason is not None:
            raise UrlRefused(f"{host} may not be called: {reason}", field="url", host=host, address=str(ip))
    return found[0]


def check_url(url: str, policy: Policy | None = None) -> str:
    """``url`` if montage may call it now (scheme and resolved addresses), else ``UrlRefused``."""
    _, host, port = check_scheme(url)
    resolve(host, port, policy)
    return url


def check_literal(url: str, policy: Policy | None = None) -> str:
    """``url``, refused at once if its host is an address the policy refuses; a name is left for
    the call to resolve (where a server is registered, its name may not resolve yet)."""
    _, host, _ = check_scheme(url)
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return url
    reason = address_refusal(ip, policy or _policy)
    if reason is not None:
        raise UrlRefused(f"{host} may not be called: {reason}", field="url", host=host)
    return url


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that checks every request (redirects too) against the policy and
    connects to the address it checked, keeping the Host header and TLS server name."""

    def __init__(self, policy: Policy | None = None, inner: httpx.BaseTransport | None = None, **kwargs: Any):
        self._policy = policy
        self._inner = inner or httpx.HTTPTransport(**kwargs)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _, host, port = check_scheme(str(request.url))
        ip = resolve(host, port, self._policy)
        pinned = f"[{ip}]" if ip.version == 6 else str(ip)
        if pinned != host:  # the Host header, set when the request was built, keeps the name
            request.url = request.url.copy_with(host=pinned)
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()

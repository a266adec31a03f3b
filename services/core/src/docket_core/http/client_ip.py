"""The end user's address: X-Forwarded-For is believed only from TRUSTED_PROXIES.

The API trusts the ingress and the web service; the web trusts the ingress and, calling the API for
a user, forwards the hops it believes with its own peer appended, as a proxy does
(:func:`forwarded_chain`). Without this a client could spoof its rate-limit bucket.

Every per-client limit keys on :func:`client_bucket`, not on the raw address: one IPv6 subscriber
usually holds a whole /64 and could otherwise take a fresh bucket per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_BUCKET_PREFIX = 64


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs (or bare addresses) from settings."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The first untrusted hop, reading X-Forwarded-For from the right, if the peer is a trusted proxy."""
    peer = peer or "unknown"
    if not forwarded_for or not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled header from a trusted proxy: fall back to the proxy itself
    return hops[0] if hops else peer


def forwarded_chain(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The X-Forwarded-For to send on, as a proxy does: the hops believed, then the peer appended.

    Believed are the hops from the right up to and including the first untrusted one (the end
    user); anything left of it was written by the client and is dropped. From an untrusted peer
    nothing is believed. A service that trusts this one and the hops it trusts finds the same
    end user that :func:`client_ip` finds here.
    """
    peer = peer or "unknown"
    if not forwarded_for or not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    believed: list[str] = []
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                believed.append(str(ipaddress.ip_address(hop)))
            except ValueError:
                return peer  # a garbled header from a trusted proxy: the proxy is the client, as above
            break
        believed.append(hop)
    return ", ".join([*reversed(believed), peer])


def _peer_and_forwarded(scope: Scope) -> tuple[str | None, str]:
    client = scope.get("client")
    forwarded = ",".join(
        value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
    )
    return (client[0] if client else None), forwarded


def scope_client_ip(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """The end user's address for this request (all X-Forwarded-For headers joined, as one list)."""
    return client_ip(*_peer_and_forwarded(scope), trusted)


def scope_forwarded_chain(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """The X-Forwarded-For a call made for this request's end user carries (see :func:`forwarded_chain`)."""
    return forwarded_chain(*_peer_and_forwarded(scope), trusted)


def client_bucket(address: str) -> str:
    """The key one client's limits share: an IPv4 address as it is, an IPv6 address by its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown" (no peer): one shared bucket
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_BUCKET_PREFIX), strict=False))
    return str(ip)

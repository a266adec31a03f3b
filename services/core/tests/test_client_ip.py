"""X-Forwarded-For: whom to believe, and what a service that calls another on a user's behalf sends on."""

from __future__ import annotations

import pytest

from docket_core.http.client_ip import client_bucket, client_ip, forwarded_chain, parse_networks

INGRESS = parse_networks(["10.0.0.0/24"])
WEB_AND_INGRESS = parse_networks(["10.0.0.0/24", "10.1.0.0/24"])


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7, 10.0.0.5"),
        # what the client wrote left of the end user is dropped, whatever it claims
        ("10.0.0.5", "1.2.3.4, 203.0.113.7", "203.0.113.7, 10.0.0.5"),
        ("10.0.0.5", "203.0.113.7, 10.0.0.9", "203.0.113.7, 10.0.0.9, 10.0.0.5"),
        # an untrusted peer is the end user: its header is its own invention
        ("198.51.100.1", "203.0.113.7", "198.51.100.1"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
    ],
)
def test_the_chain_sent_on_keeps_the_believed_hops_and_appends_the_peer(
    peer: str, header: str, expected: str
) -> None:
    assert forwarded_chain(peer, header, INGRESS) == expected


def test_the_next_service_finds_the_same_end_user_the_web_found() -> None:
    for peer, header in [
        ("10.0.0.5", "1.2.3.4, 203.0.113.7"),
        ("198.51.100.1", "203.0.113.7"),
        ("10.0.0.5", "garbage"),
        ("10.0.0.5", "203.0.113.7, 10.0.0.9"),
    ]:
        at_the_web = client_ip(peer, header, INGRESS)
        chain = forwarded_chain(peer, header, INGRESS)
        at_the_api = client_ip("10.1.0.3", chain, WEB_AND_INGRESS)  # the web pod is the API's peer
        assert at_the_api == at_the_web, (peer, header, chain)


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("::1", "::/64"),
        ("unknown", "unknown"),
    ],
)
def test_ipv6_clients_share_a_bucket_per_64_and_ipv4_per_address(address: str, bucket: str) -> None:
    assert client_bucket(address) == bucket


def test_two_64s_are_two_buckets() -> None:
    assert client_bucket("2001:db8:1:2::1") != client_bucket("2001:db8:1:3::1")


def test_forwarded_ipv6_from_a_trusted_proxy_is_normalised() -> None:
    trusted = parse_networks(["127.0.0.1/32"])
    assert client_ip("127.0.0.1", "2001:DB8::0:1", trusted) == "2001:db8::1"
    assert client_ip("192.0.2.1", "2001:db8::1", trusted) == "192.0.2.1"

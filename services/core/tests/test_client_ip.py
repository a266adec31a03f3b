"""Client addresses: who is believed, and which addresses share one client's limits."""

from __future__ import annotations

import pytest

from docket_core.http.client_ip import client_bucket, client_ip, parse_networks


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

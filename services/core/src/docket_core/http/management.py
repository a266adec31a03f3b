"""Probes and metrics on their own port: ``MANAGEMENT_PORT`` serves only them, the public port never.

Each server process listens on both sockets (see :mod:`docket_core.server`); a request is told apart by
the port it arrived on (``scope["server"]``). The Ingress only ever reaches the public port, so
``/metrics`` and ``/readyz`` are not on the Internet, and the kubelet and Prometheus reach the
management port, which a NetworkPolicy can open to them alone.
"""

from __future__ import annotations

import msgspec
from litestar.types import Scope, Send

from docket_core.http.problems import PROBLEM_JSON
from docket_core.settings import SettingsError


async def not_found(scope: Scope, send: Send) -> None:
    """A 404 problem for a path this port does not serve."""
    body = msgspec.json.encode(
        {
            "type": "urn:docket:problem:not-found",
            "title": "Not Found",
            "status": 404,
            "detail": "There is nothing here.",
            "instance": scope.get("path", ""),
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def check_management_port(port: int, management_port: int) -> None:
    """Refuse a MANAGEMENT_PORT that is no port, or the public PORT itself."""
    if not 0 < management_port < 65536:
        raise SettingsError("MANAGEMENT_PORT must be a port number from 1 to 65535")
    if management_port == port:
        raise SettingsError("MANAGEMENT_PORT must differ from PORT: the probes need a port of their own")

"""Probes and metrics on their own port: ``MANAGEMENT_PORT`` serves only them, the public port never.

Each server process listens on both sockets (see :mod:`docket_core.server`); a request is told apart by
the port it arrived on (``scope["server"]``). The Ingress only ever reaches the public port, so
``/metrics`` and ``/readyz`` are not on the Internet, and the kubelet and Prometheus reach the
management port, which a NetworkPolicy can open to them alone.
"""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from docket_core.http.observe import PROBE_PATHS
from docket_core.http.problems import PROBLEM_JSON
from docket_core.settings import SettingsError


class ManagementPortMiddleware:
    """Answers 404 for the probe paths on the public port, and for everything else on the management port."""

    def __init__(self, app: ASGIApp, management_port: int | None) -> None:
        self.app = app
        self.management_port = management_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.management_port is None or scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            await self.app(scope, receive, send)
            return
        server = scope.get("server")
        on_management_port = server is not None and server[1] == self.management_port
        if on_management_port == (scope["path"] in PROBE_PATHS):
            await self.app(scope, receive, send)
        elif scope["type"] == ScopeType.HTTP:
            await _not_found(scope, send)
        else:  # a WebSocket on the wrong port is never accepted
            await send({"type": "websocket.close", "code": 1008, "reason": ""})


async def _not_found(scope: Scope, send: Send) -> None:
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

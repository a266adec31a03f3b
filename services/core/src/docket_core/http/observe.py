"""The outermost ASGI middleware: one layer for what every request gets at the edge.

It routes the probe paths to the management port (404 elsewhere), tags the request with an id, adds
the security headers and ``X-Request-ID`` to the response, counts it in Prometheus and writes its
JSON access line. One layer with one ``send`` wrapper, precomputed header lists, cached metric
children and an access line encoded once by msgspec: it replaced three nested middlewares.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from docket_core.http.management import not_found
from docket_core.http.security_headers import API_CSP, security_headers
from docket_core.logging import PREFORMATTED, redact_text, request_id_var, trace_ids
from docket_core.metrics import HTTP_LATENCY, HTTP_REQUESTS

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("docket.access")
# (method, route, status) label sets seen; bounded, as a method is whatever the client sent
_MAX_CACHED_LABELS = 512
_encode = msgspec.json.Encoder().encode


class _Headers:
    """A header set to add, with its names for the "did the handler set it already" test."""

    def __init__(self, pairs: list[tuple[bytes, bytes]]) -> None:
        self.pairs = pairs
        self.names = frozenset(name for name, _ in pairs)


class EdgeMiddleware:
    """Management-port routing, request id, security headers, metrics and the access log."""

    def __init__(
        self,
        app: ASGIApp,
        csp: str = API_CSP,
        csp_overrides: Iterable[tuple[str, str]] = (),
        management_port: int | None = None,
    ) -> None:
        self.app = app
        self.management_port = management_port
        self.default = _Headers(security_headers(csp))
        self.overrides = [(prefix, _Headers(security_headers(policy))) for prefix, policy in csp_overrides]
        self._metrics: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _misrouted(self, scope: Scope) -> bool:
        """Whether the request came to the wrong port for its path (probes: only the management port)."""
        if self.management_port is None:
            return False
        server = scope.get("server")
        on_management_port = server is not None and server[1] == self.management_port
        return on_management_port != (scope["path"] in PROBE_PATHS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            if scope["type"] == ScopeType.WEBSOCKET and self._misrouted(scope):
                await send({"type": "websocket.close", "code": 1008, "reason": ""})  # never accepted
                return
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        request_id = _incoming_request_id(scope) or os.urandom(16).hex()
        token = request_id_var.set(request_id)
        extra = self.default
        for prefix, headers in self.overrides:
            if path.startswith(prefix):
                extra = headers
                break
        request_id_header = (b"x-request-id", request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_at_the_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if any(name.lower() in extra.names for name, _ in headers):
                    present = {name.lower() for name, _ in headers}
                    headers.extend(pair for pair in extra.pairs if pair[0] not in present)
                else:
                    headers.extend(extra.pairs)
                headers.append(request_id_header)
                message["headers"] = headers
            await send(message)

        try:
            if self._misrouted(scope):
                await not_found(scope, send_at_the_edge)
            else:
                await self.app(scope, receive, send_at_the_edge)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = str(scope.get("method", "GET"))
            self._count(method, route, status, elapsed)
            if path not in PROBE_PATHS and access_log.isEnabledFor(logging.INFO):
                _log_access(method, route, status, elapsed, path, request_id)
            request_id_var.reset(token)

    def _count(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, status)
        children = self._metrics.get(key)
        if children is None:
            children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
            if len(self._metrics) < _MAX_CACHED_LABELS:
                self._metrics[key] = children
        children[0].inc()
        children[1].observe(elapsed)


def _log_access(method: str, route: str, status: int, elapsed: float, path: str, request_id: str) -> None:
    """The access line, the JSON the log formatter would write for it, encoded once."""
    now = time.time()
    trace_id, span_id = trace_ids()
    line = _encode(
        {
            "ts": dt.datetime.fromtimestamp(now, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": "info",
            "logger": "docket.access",
            "msg": f"{method} {route} {status}",
            "request_id": request_id,
            "trace_id": trace_id,
            "span_id": span_id,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "path": redact_text(path),
        }
    ).decode()
    record = logging.LogRecord(access_log.name, logging.INFO, __file__, 0, line, None, None)
    record.created = now
    setattr(record, PREFORMATTED, True)
    access_log.handle(record)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.match(text) else None
    return None

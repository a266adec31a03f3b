"""``OPTIONS`` answers ``Allow`` with every method of the path.

Litestar builds the automatic OPTIONS handler with the first handler registered for a path and
does not update it when more handlers (GET and POST of one path in two methods of a controller)
join the same route, so ``Allow`` left some methods out. This ``before_send`` hook puts in the
methods of the route as it finally stands.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def _methods_by_path(app: Any) -> dict[str, str]:
    cached: dict[str, str] | None = getattr(app.state, "allow_by_path", None)
    if cached is None:
        cached = {
            route.path_format: ", ".join(sorted(route.methods))
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }
        app.state.allow_by_path = cached
    return cached


async def complete_allow_header(message: Message, scope: Scope) -> None:
    """On an OPTIONS response, list every method the matched path supports."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    allow = _methods_by_path(scope["app"]).get(scope.get("path_template", ""))  # type: ignore[call-overload]
    headers = MutableScopeHeaders.from_message(message)
    if allow and "allow" in headers:
        headers["allow"] = allow

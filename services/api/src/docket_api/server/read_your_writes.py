"""After a signed-in user's write succeeds, record their write marker before they see the response.

Installed only with ``DATABASE_READ_URL``. Every request that may change data (not GET, HEAD or
OPTIONS) and succeeds (below 400) has committed by the time its response starts; the marker is
stored then, before the status line goes out, so no later read of the user's can overtake it. One
place covers every write route, present and future, instead of a call in each service method.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from docket_api.domain.auth.deps import PRINCIPAL_SCOPE_KEY
from docket_api.domain.auth.tokens import Principal
from docket_core.read_routing import ReadRouter

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadYourWritesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(PRINCIPAL_SCOPE_KEY)  # type: ignore[misc]  # set by the gate
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] in READ_ONLY_METHODS
            or not isinstance(principal, Principal)
        ):
            await self.app(scope, receive, send)
            return
        reads: ReadRouter = scope["app"].state.reads
        user_id = principal.user_id

        async def send_after_marking(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await reads.record_write(user_id)
            await send(message)

        await self.app(scope, receive, send_after_marking)

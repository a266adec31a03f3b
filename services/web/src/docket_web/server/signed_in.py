"""Changes need a session, and that is known from the headers: no anonymous body is ever read.

Every POST but signing in, signing up and signing out acts for a signed-in user. This middleware
looks the session up from its cookie before the handler (or anything else) reads the body, and
refuses the request at once without one; the session it found is kept for the handler.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from docket_web.server.api import SignInRequiredError
from docket_web.server.metrics import REFUSALS
from docket_web.server.sessions import SessionStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS_POSTS = frozenset({"/signin", "/signup", "/signout"})
SESSION_STATE_KEY = "session"  # request.state.session, which provide_api reads


class SignedInMiddleware:
    """Raises :class:`SignInRequiredError` for a change without a live session, before its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] in SAFE_METHODS
            or scope["path"] in ANONYMOUS_POSTS
        ):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        sessions: SessionStore = request.app.state.sessions
        session = await sessions.load(request.cookies.get(sessions.cookie_name))
        if session is None:
            REFUSALS.labels("sign-in-required").inc()
            raise SignInRequiredError
        scope.setdefault("state", {})[SESSION_STATE_KEY] = session  # type: ignore[typeddict-unknown-key]
        await self.app(scope, receive, send)

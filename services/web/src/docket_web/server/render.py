"""Page rendering and the per-request dependencies every page handler uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

from docket_core.http.client_ip import Network, scope_forwarded_chain
from docket_web.server.api import Api
from docket_web.server.sessions import Session, SessionStore

AnyRequest = Request[Any, Any, Any]
NOTICES = {
    "signed-out": "You have signed out.",
    "deleted": "The document was deleted.",
    "welcome": "Your account is ready. Upload your first documents below.",
}


async def provide_api(request: AnyRequest) -> Api:
    """The API for this request's user: their session (if any) and their address."""
    state = request.app.state
    sessions: SessionStore = state.sessions
    if "session" in request.state:  # SignedInMiddleware has looked it up already
        session = current_session(request)
    else:
        session = await sessions.load(request.cookies.get(sessions.cookie_name))
        request.state.session = session
    trusted: tuple[Network, ...] = state.trusted_proxies
    timeout: httpx.Timeout = state.stream_timeout
    return Api(state.http, sessions, scope_forwarded_chain(request.scope, trusted), session, timeout)


def current_session(request: AnyRequest) -> Session | None:
    session = request.state.get("session")
    return session if isinstance(session, Session) else None


def page(
    request: AnyRequest,
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    cookies: Sequence[Cookie] | None = None,
    **context: Any,
) -> Template:
    """Render ``template`` with what every page needs: the user, the current path and any notice."""
    session = current_session(request)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return Template(
        template_name=template,
        context={
            "user": session.email if session else None,
            "path": request.url.path,
            "notice": notice,
            **context,
        },
        status_code=status,
        # pages show one user's documents: never kept by the browser or by a cache on the way
        headers={"Cache-Control": "no-store", **(headers or {})},
        cookies=list(cookies or []),
    )


def safe_next(target: str | None, default: str = "/documents") -> str:
    """A same-site path to go to after signing in; anything else (``//evil``, ``https:``) is refused."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    return target


def with_query(path: str, **params: Any) -> str:
    """``path`` with the non-empty parameters as its query string (lists repeat the key)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            pairs.extend((key, str(item)) for item in value)
        elif value not in (None, ""):
            pairs.append((key, str(value)))
    return f"{path}?{urlencode(pairs)}" if pairs else path


MAX_BACK_CURSORS = 30


class Pager:
    """ "Newer" and "older" links for cursor paging: the query string keeps the stack of cursors seen."""

    def __init__(
        self,
        path: str,
        params: Mapping[str, Any],
        cursor: str | None,
        back: Sequence[str],
        next_cursor: str | None,
    ) -> None:
        back = list(back)[-MAX_BACK_CURSORS:]
        self.older_url = (
            with_query(path, **params, cursor=next_cursor, back=[*back, cursor or ""])
            if next_cursor
            else None
        )
        self.newer_url = (
            with_query(path, **params, cursor=back[-1] if back else "", back=back[:-1]) if cursor else None
        )

    @property
    def shown(self) -> bool:
        return bool(self.older_url or self.newer_url)

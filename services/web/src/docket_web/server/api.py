"""The API as one end user sees it: their address, their request id and their session's tokens.

Every call carries ``X-Forwarded-For`` (the hops the web believes with its own peer appended, so the API,
trusting the web and the ingress, finds the end user and rate-limits per client)
and the request id. On a 401 the session's refresh token is used once, under a per-session lock, and the
call is retried; the new pair goes back into the session, so the user never notices.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import msgspec

from docket_core.logging import request_id_var
from docket_web.server.sessions import Session, SessionStore

logger = logging.getLogger("docket.web.api")
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
MAX_REFRESHES = 2
FilesFactory = Callable[[], Mapping[str, Any]]


class ApiUnavailableError(Exception):
    """The API did not answer in time, refused the connection, or said it is unavailable."""


class SignInRequiredError(Exception):
    """There is no session, or the API no longer accepts it (the refresh token is spent or revoked)."""


class ApiError(Exception):
    """The API answered with an error the page cannot handle itself (404, 429, 500, ...)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(f"API answered {status}: {detail}")
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem+json body of an error response (empty when it is not one)."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after_of(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


class Api:
    """A per-request view of the shared HTTP client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        sessions: SessionStore,
        forwarded_for: str,
        session: Session | None,
        stream_timeout: httpx.Timeout,
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.forwarded_for = forwarded_for
        self.session = session
        self.stream_timeout = stream_timeout

    def require_session(self) -> Session:
        """The signed-in user's session; the visitor is sent to sign in when there is none."""
        if self.session is None:
            raise SignInRequiredError
        return self.session

    def _headers(self, auth: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.forwarded_for, "Accept": "application/json"}
        if request_id := request_id_var.get():
            headers["X-Request-ID"] = request_id
        if auth:
            headers["Authorization"] = f"Bearer {self.require_session().access_token}"
        if extra:
            headers.update(extra)
        return headers

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: FilesFactory | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        stream: bool = False,
        timeouts: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One call, retried with refreshed tokens on a 401; the caller checks the status.

        Normally one refresh does it. A second is allowed because the API counts token lifetimes in
        whole seconds: with a very short ACCESS_TOKEN_TTL_SECONDS a new token can expire before the
        retry reaches the API. Each refresh runs under the session's lock, so no refresh token is
        ever spent twice.
        """
        for attempt in range(1 + MAX_REFRESHES):
            request = self.client.build_request(
                method,
                path,
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                json=json,
                files=files() if files else None,
                headers=self._headers(auth, headers),
                timeout=timeouts or self.client.timeout,
            )
            response = await self._transmit(request, stream)
            if response.status_code == 401 and auth and attempt < MAX_REFRESHES:
                used = request.headers["authorization"].removeprefix("Bearer ")
                await response.aclose()
                if not await self.refresh(used):
                    raise SignInRequiredError
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_once(
        self, method: str, path: str, *, content: AsyncIterable[bytes], headers: Mapping[str, str]
    ) -> httpx.Response:
        """A call whose body cannot be replayed (a streamed upload): refresh first if the token is due."""
        session = self.require_session()
        if session.access_expiring and not await self.refresh(session.access_token):
            raise SignInRequiredError
        request = self.client.build_request(
            method, path, content=content, headers=self._headers(True, headers)
        )
        response = await self._transmit(request, stream=False)
        if response.status_code == 401:
            raise SignInRequiredError
        return response

    async def _transmit(self, request: httpx.Request, stream: bool) -> httpx.Response:
        try:
            return await self.client.send(request, stream=stream)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            logger.warning(
                "API unavailable: %s on %s %s", type(exc).__name__, request.method, request.url.path
            )
            raise ApiUnavailableError(type(exc).__name__) from exc

    async def refresh(self, used_access_token: str) -> bool:
        """Swap the refresh token for a new pair, once per session however many requests need it."""
        session = self.require_session()
        async with self.sessions.refresh_lock(session.id):
            current = await self.sessions.load(session.id)
            if current is None:
                return False
            if current.access_token != used_access_token:  # another request refreshed while we waited
                self.session = current
                return True
            request = self.client.build_request(
                "POST",
                "/api/v1/auth/refresh",
                json={"refresh_token": current.refresh_token},
                headers=self._headers(auth=False),
            )
            response = await self._transmit(request, stream=False)
            if response.status_code == 200:
                self.session = current.with_tokens(response.json())
                await self.sessions.save(self.session)
                return True
            if response.status_code in (400, 401, 422):
                logger.info("refresh refused (%s); the session ends", response.status_code)
                await self.sessions.delete(session.id)
                self.session = None
                return False
            raise_for_status(response)
            return False  # pragma: no cover

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a JSON resource, turning any error into an exception the error pages render."""
        response = await self.send("GET", path, params=params)
        raise_for_status(response)
        return response.json()

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """A streamed response (download, events); closed when the block ends."""
        response = await self.send(method, path, headers=headers, stream=True, timeouts=self.stream_timeout)
        try:
            yield response
        finally:
            await response.aclose()


def raise_for_status(response: httpx.Response) -> None:
    """Map an API error to the exception its page is rendered from (the body must have been read)."""
    status = response.status_code
    if status < 400:
        return
    if status in UNAVAILABLE_STATUSES:
        raise ApiUnavailableError(f"API answered {status}")
    if status == 401:
        raise SignInRequiredError
    detail = str(problem_of(response).get("detail") or "")
    raise ApiError(status, detail, retry_after_of(response))

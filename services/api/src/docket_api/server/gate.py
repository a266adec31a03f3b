"""Per-request admission: resolve the client, authenticate the bearer token (a session's JWT, revoked or
not, or a personal access token), rate-limit."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

from docket_api.domain.auth.denylist import (
    RevocationUnknownError,
    is_revoked,
    revocation_unknown,
    revoked_key,
)
from docket_api.domain.auth.deps import CLIENT_IP_SCOPE_KEY, PRINCIPAL_SCOPE_KEY
from docket_api.domain.auth.metrics import TOKEN_CHECK_UNAVAILABLE
from docket_api.domain.auth.tokens import InvalidTokenError, Principal, TokenCodec
from docket_api.domain.tokens.service import TokenService, is_personal_token
from docket_api.server.ratelimit import RateLimiter, Verdict
from docket_api.settings import ApiSettings
from docket_core.http.client_ip import Network, client_bucket, scope_client_ip
from docket_core.http.observe import PROBE_PATHS
from docket_core.http.problems import Problem, problem_response
from docket_core.metrics import RATE_LIMIT_REJECTIONS, RATE_LIMITER_ERRORS
from docket_core.sentry import set_sentry_user

logger = logging.getLogger("docket.ratelimit")


class GateMiddleware:
    """Sets the principal and client address on the scope; answers 429 over the limit, and 503 when a
    bearer token's revocation cannot be checked (Redis down: fail closed for signed-in callers)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: ApiSettings,
        codec: TokenCodec,
        trusted: tuple[Network, ...],
        sentry_on: bool,
    ) -> None:
        self.app = app
        self.settings = settings
        self.codec = codec
        self.trusted = trusted
        self.sentry_on = sentry_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        address = scope_client_ip(scope, self.trusted)
        scope[CLIENT_IP_SCOPE_KEY] = address  # type: ignore[literal-required]

        try:
            principal = await self._principal(scope, _header(scope, b"authorization"))
            verdict, revoked = await self._admit(scope, address, principal)
        except RevocationUnknownError:
            TOKEN_CHECK_UNAVAILABLE.inc()
            await self._refuse(scope, receive, send, revocation_unknown())
            return
        if revoked:
            principal = None  # logged out: the route sees an anonymous caller and answers 401
        if principal is not None:
            scope[PRINCIPAL_SCOPE_KEY] = principal  # type: ignore[literal-required]
            if self.sentry_on:
                set_sentry_user(principal.user_id)
        if verdict is not None and not verdict.allowed:
            RATE_LIMIT_REJECTIONS.labels("user" if principal else "ip").inc()
            await self._refuse(scope, receive, send, _over_limit(verdict))
            return
        if verdict is None:
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *verdict.headers()]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _principal(self, scope: Scope, authorization: bytes | None) -> Principal | None:
        """The caller the bearer token names, or None; raises :class:`RevocationUnknownError` when a
        personal token cannot be looked up (the database is down: fail closed, like the deny-list)."""
        if not authorization:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if is_personal_token(token):
            tokens: TokenService = scope["app"].state.tokens
            try:
                return await tokens.resolve(token)
            except (psycopg.Error, OSError) as exc:
                raise RevocationUnknownError from exc
        try:
            return self.codec.verify(token)
        except InvalidTokenError:
            return None

    async def _admit(
        self, scope: Scope, address: str, principal: Principal | None
    ) -> tuple[Verdict | None, bool]:
        """The rate-limit verdict (None when off or failing open) and whether the token was revoked.

        Raises :class:`RevocationUnknownError` when a bearer token's revocation cannot be checked.
        """
        redis: Redis = scope["app"].state.redis
        # a personal token's revocation is its row (already checked); a session's JWT is on the deny-list
        session = principal is not None and principal.is_session
        if not self.settings.rate_limit_enabled:
            revoked = principal is not None and session and await is_revoked(redis, principal.token_id)
            return None, revoked
        limiter: RateLimiter = scope["app"].state.rate_limiter
        if principal is not None:
            # a personal token is limited as its owner: the same bucket as their sessions
            bucket, limit = f"user:{principal.user_id}", self.settings.rate_limit_user
            token_key = revoked_key(principal.token_id) if session else None
        else:
            bucket, limit = f"ip:{client_bucket(address)}", self.settings.rate_limit_anonymous
            token_key = None
        try:
            # one round trip: the same script counts the request and looks up the token
            verdict = await limiter.hit(bucket, limit, token_key)
        except (RedisError, OSError) as exc:
            RATE_LIMITER_ERRORS.inc()
            if principal is not None:
                raise RevocationUnknownError from exc
            logger.warning("rate limiter unavailable, failing open: %s", type(exc).__name__)
            return None, False
        return verdict, verdict.token_revoked

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        from litestar import Request

        request: Request[Any, Any, Any] = Request(scope, receive)
        response = problem_response(
            request, problem.status_code, problem.detail, slug=problem.slug, headers=problem.headers
        )
        await response.to_asgi_response(None, request)(scope, receive, send)


def _over_limit(verdict: Verdict) -> Problem:
    return Problem(
        429,
        f"Rate limit of {verdict.limit} requests exceeded; retry in {verdict.reset_seconds}s.",
        slug="rate-limited",
        headers={
            "Retry-After": str(verdict.reset_seconds),
            **{k.decode(): v.decode() for k, v in verdict.headers()},
        },
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None

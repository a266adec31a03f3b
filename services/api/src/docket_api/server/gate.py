"""Per-request admission: resolve the client, authenticate the bearer token, apply the rate limit."""

from __future__ import annotations

import logging
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from docket_api.domain.auth.deps import CLIENT_IP_SCOPE_KEY, PRINCIPAL_SCOPE_KEY
from docket_api.domain.auth.service import REVOKED_ACCESS_PREFIX
from docket_api.domain.auth.tokens import InvalidTokenError, Principal, TokenCodec
from docket_api.server.ratelimit import RateLimiter, Verdict
from docket_api.settings import ApiSettings
from docket_core.http.client_ip import Network, client_bucket, scope_client_ip
from docket_core.http.observe import PROBE_PATHS
from docket_core.http.problems import problem_response
from docket_core.metrics import RATE_LIMIT_REJECTIONS, RATE_LIMITER_ERRORS
from docket_core.sentry import set_sentry_user

logger = logging.getLogger("docket.ratelimit")


class GateMiddleware:
    """Sets the principal and client address on the scope, and answers 429 over the limit."""

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
        principal = self._principal(_header(scope, b"authorization"))
        scope[CLIENT_IP_SCOPE_KEY] = address  # type: ignore[literal-required]

        verdict = await self._check_limit(scope, address, principal)
        if verdict is not None and verdict.token_revoked:
            principal = None
        if principal is not None:
            scope[PRINCIPAL_SCOPE_KEY] = principal  # type: ignore[literal-required]
            if self.sentry_on:
                set_sentry_user(principal.user_id)
        if verdict is not None and not verdict.allowed:
            RATE_LIMIT_REJECTIONS.labels("user" if principal else "ip").inc()
            await self._reject(scope, receive, send, verdict)
            return
        if verdict is None:
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *verdict.headers()]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    def _principal(self, authorization: bytes | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return self.codec.verify(token.strip())
        except InvalidTokenError:
            return None

    async def _check_limit(self, scope: Scope, address: str, principal: Principal | None) -> Verdict | None:
        if not self.settings.rate_limit_enabled:
            return None
        limiter: RateLimiter = scope["app"].state.rate_limiter
        if principal is not None:
            bucket, limit = f"user:{principal.user_id}", self.settings.rate_limit_user
            revoked_key = REVOKED_ACCESS_PREFIX + principal.token_id
        else:
            bucket, limit = f"ip:{client_bucket(address)}", self.settings.rate_limit_anonymous
            revoked_key = None
        try:
            return await limiter.hit(bucket, limit, revoked_key)
        except (RedisError, OSError) as exc:
            RATE_LIMITER_ERRORS.inc()
            logger.warning("rate limiter unavailable, failing open: %s", type(exc).__name__)
            return None

    async def _reject(self, scope: Scope, receive: Receive, send: Send, verdict: Verdict) -> None:
        from litestar import Request

        request: Request[Any, Any, Any] = Request(scope, receive)
        response = problem_response(
            request,
            429,
            f"Rate limit of {verdict.limit} requests exceeded; retry in {verdict.reset_seconds}s.",
            slug="rate-limited",
            headers={
                "Retry-After": str(verdict.reset_seconds),
                **{k.decode(): v.decode() for k, v in verdict.headers()},
            },
        )
        await response.to_asgi_response(None, request)(scope, receive, send)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None

"""Friendly error pages (or problem+json for scripts): 403, 404, 429, 500 and "API unavailable"."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Response
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError

from docket_core.http.problems import problem_response
from docket_web.server.api import ApiError, ApiUnavailableError, SignInRequiredError
from docket_web.server.body_deadline import BodyTooSlowError
from docket_web.server.render import AnyRequest, page, safe_next, with_query
from docket_web.server.sessions import SessionStore

logger = logging.getLogger("docket.web.errors")
UNAVAILABLE_RETRY_SECONDS = 30

_PAGES: dict[int, tuple[str, str]] = {
    400: ("That request did not make sense", "Something in the address or the form was not valid."),
    403: ("That was refused", "You do not have permission to do that."),
    404: (
        "Page not found",
        "There is nothing here. The document may have been deleted, or the link may belong to someone "
        "else's account.",
    ),
    405: ("That is not allowed here", "This page cannot be used that way."),
    408: (
        "That took too long",
        "What you sent arrived too slowly and was stopped. Check your connection and try again.",
    ),
    413: ("That is too large", "The request was larger than Docket accepts."),
    429: ("Too many requests", "You have made a lot of requests in a short time."),
    500: ("Something went wrong", "An unexpected error happened on our side. It has been logged."),
    503: (
        "Docket is temporarily unavailable",
        "We cannot reach the document service right now. Your documents are safe; please try again shortly.",
    ),
}


def wants_json(request: AnyRequest) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def wait_phrase(seconds: int) -> str:
    """``45 seconds``, ``about 3 minutes``."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"about {round(seconds / 60)} minutes"


def error_page(
    request: AnyRequest,
    status: int,
    *,
    detail: str | None = None,
    retry_after: int | None = None,
    title: str | None = None,
) -> Response[Any]:
    """The error page for ``status``, or a problem+json body when the caller asked for JSON."""
    default_title, message = _PAGES.get(status, (HTTPStatus(status).phrase, ""))
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    headers["Cache-Control"] = "no-store"
    if wants_json(request):
        return problem_response(request, status, detail or message, headers=headers)
    return page(
        request,
        "error.html",
        status=status,
        headers=headers,
        title=title or default_title,
        message=message,
        detail=detail,
        status_code=status,
        retry_in=wait_phrase(retry_after) if retry_after is not None else None,
    )


def _sign_in_required(request: AnyRequest, exc: SignInRequiredError) -> Response[Any]:
    sessions: SessionStore = request.app.state.sessions
    if wants_json(request):
        response = problem_response(request, 401, "Your session has ended; sign in again.")
    else:
        here = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        target = safe_next(here) if request.method == "GET" else "/documents"
        response = Redirect(with_query("/signin", next=target), status_code=303)
    response.set_cookie(sessions.expired_cookie())
    return response


def _api_unavailable(request: AnyRequest, exc: ApiUnavailableError) -> Response[Any]:
    return error_page(request, 503, retry_after=UNAVAILABLE_RETRY_SECONDS)


def _store_unavailable(request: AnyRequest, exc: RedisError) -> Response[Any]:
    logger.warning("session store unavailable: %s", type(exc).__name__)
    return error_page(request, 503, retry_after=UNAVAILABLE_RETRY_SECONDS)


def _body_too_slow(request: AnyRequest, exc: BodyTooSlowError) -> Response[Any]:
    logger.info("request body too slow on %s %s: %s", request.method, request.url.path, exc)
    return error_page(request, 408)


def _api_error(request: AnyRequest, exc: ApiError) -> Response[Any]:
    if exc.status >= 500:
        logger.error("API error %s on %s %s", exc.status, request.method, request.url.path)
        return error_page(request, 500)
    detail = exc.detail if exc.status in (400, 413, 415, 422) else None
    status = 400 if exc.status == 422 else exc.status
    return error_page(request, status, detail=detail, retry_after=exc.retry_after if status == 429 else None)


def _http_exception(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return error_page(
            request,
            403,
            title="This form has expired",
            detail="For your safety the form was not accepted. Go back, reload the page and try again.",
        )
    if status >= 500:
        logger.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
        return error_page(request, 500)
    return error_page(request, status)


def _unexpected(request: AnyRequest, exc: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(request, 500)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    SignInRequiredError: _sign_in_required,
    ApiUnavailableError: _api_unavailable,
    ApiError: _api_error,
    RedisError: _store_unavailable,
    BodyTooSlowError: _body_too_slow,
    HTTPException: _http_exception,
    Exception: _unexpected,
}

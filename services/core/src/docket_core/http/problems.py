"""Turn every error into an RFC 9457 ``application/problem+json`` body, without stack traces."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from psycopg_pool import PoolTimeout

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("docket.errors")


class Problem(HTTPException):
    """An HTTP error with a stable problem ``type`` slug and optional extra members."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.slug = slug or HTTPStatus(status_code).phrase.lower().replace(" ", "-")
        self.members = extra


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """Build a problem+json response for ``request``."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"urn:docket:problem:{slug or phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    extra: dict[str, Any] = {}
    slug = None
    if isinstance(exc, Problem):
        slug, extra = exc.slug, dict(exc.members)
    status = exc.status_code
    detail = exc.detail
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc.extra)
        if errors:  # well-formed but invalid fields: 422, each field named
            status, slug = 422, "validation-error"
            extra = {**extra, "errors": errors}
            detail = "The request is not valid; see errors for each field."
    if status >= 500:
        detail = HTTPStatus(status).phrase
    headers = dict(exc.headers or {})
    return problem_response(request, status, detail, slug=slug, headers=headers, extra=extra)


def _field_errors(raw: Any) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            errors.append(
                {
                    "field": str(item.get("key") or item.get("source") or "body"),
                    "message": str(item.get("message", "invalid")),
                }
            )
    return errors


def _database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The database went away mid-request or no pooled connection came in time: the client should retry
    (503 and Retry-After, which a load balancer and a client library understand); still logged as an
    error with its traceback, so Sentry reports it as before."""
    logger.error("database unavailable on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, 503, "The database is unavailable; try again shortly.", slug="database-unavailable",
        headers={"Retry-After": "1"},
    )  # fmt: skip


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "An unexpected error occurred; it has been logged.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    psycopg.OperationalError: _database_unavailable,
    PoolTimeout: _database_unavailable,
    Exception: _unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "Problem", "problem_response"]

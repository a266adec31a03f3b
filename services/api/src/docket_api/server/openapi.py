"""OpenAPI 3.1 at /api/openapi.json, with Swagger UI at /api-docs outside production."""

from __future__ import annotations

import msgspec
from litestar.datastructures import ResponseHeader
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from docket_core.http.problems import PROBLEM_JSON

DESCRIPTION = """Docket's JSON API.

* **Auth**: send `Authorization: Bearer <access token>` from `/api/v1/auth/login`.
* **Rate limits**: every response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`;
  a 429 adds `Retry-After`.
* **Errors**: every 4xx and 5xx is `application/problem+json` (RFC 9457) with `type`, `title`, `status`,
  `detail` and `instance`; validation errors add `errors`, a list of `{field, message}`.
"""


def openapi_config(swagger: bool, release: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Docket API",
        version=release,
        description=DESCRIPTION,
        path="/api",
        render_plugins=[SwaggerRenderPlugin(path="/docs")] if swagger else [],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
            }
        ),
        create_examples=False,
    )


class FieldError(msgspec.Struct):
    field: str
    message: str


class ProblemDetail(msgspec.Struct):
    """RFC 9457 problem details, the body of every 4xx and 5xx."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


def problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetail,
        description=description,
        media_type=PROBLEM_JSON,
        generate_examples=False,
    )


# Documented on every operation; the handlers raise these through the shared exception handlers.
PROBLEM_RESPONSES: dict[int, ResponseSpec] = {
    400: problem_spec("Malformed request body or parameters"),
    422: problem_spec("A field failed validation; `errors` names each one"),
    413: problem_spec("The body is larger than MAX_BODY_BYTES"),
    429: problem_spec("Rate limit exceeded; `Retry-After` says when to try again"),
    500: problem_spec("Unexpected error; it was logged"),
}
AUTH_PROBLEM_RESPONSES: dict[int, ResponseSpec] = {
    **PROBLEM_RESPONSES,
    401: problem_spec("Missing, expired or invalid bearer token"),
}
RATE_LIMIT_HEADERS = [
    ResponseHeader(
        name="RateLimit-Limit", documentation_only=True, description="Requests allowed per window"
    ),
    ResponseHeader(
        name="RateLimit-Remaining", documentation_only=True, description="Requests left in the window"
    ),
    ResponseHeader(
        name="RateLimit-Reset", documentation_only=True, description="Seconds until the window resets"
    ),
    ResponseHeader(
        name="X-Request-ID", documentation_only=True, description="Id of this request in the logs"
    ),
]

"""The OpenAPI descriptions of the problem responses that controllers document.

The bodies themselves come from ``docket_core.http.problems``; these types only describe them.
"""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from docket_core.http.problems import PROBLEM_JSON


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
    401: problem_spec("Missing, expired, revoked or invalid bearer token"),
    503: problem_spec("The token's revocation cannot be checked right now; `Retry-After` says when to retry"),
}

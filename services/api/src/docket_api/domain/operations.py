"""OpenAPI details a handler's signature cannot carry, applied as Litestar builds each operation.

Handlers pass one of these as ``operation_class``: Litestar marks every request body required,
describes every success as JSON, and cannot see a body a handler reads as a raw stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)

BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
NON_EMPTY_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, min_length=1)


# each subclass is a dataclass again, or its __init__ (Operation's) would never call __post_init__
@dataclass
class OptionalBodyOperation(Operation):
    """The request body may be left out."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


def multipart_file_operation(field: str, text_field: str, description: str, example: str) -> type[Operation]:
    """An operation whose body is ``multipart/form-data`` with one required file in ``field`` and an
    optional ``text_field`` (a UUID) before it."""
    body = RequestBody(
        required=True,
        description=description,
        content={
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    # the text field first: the server reads it only when it comes before the file
                    properties={
                        text_field: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
                        field: NON_EMPTY_BINARY,
                    },
                    required=[field],
                    # other fields are read past and ignored (a form may carry more than these)
                ),
                example={field: example},
            )
        },
    )

    @dataclass
    class MultipartFileOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return MultipartFileOperation


def media_types_operation(
    statuses: Sequence[int], media_types: Sequence[str], schema: Schema = BINARY
) -> type[Operation]:
    """An operation whose ``statuses`` answer with a body in any of ``media_types``, not JSON."""
    content = {media_type: OpenAPIMediaType(schema=schema) for media_type in media_types}

    @dataclass
    class MediaTypesOperation(Operation):
        def __post_init__(self) -> None:
            responses = self.responses if self.responses is not None else {}
            for status in statuses:
                documented = responses.get(str(status))
                if isinstance(documented, OpenAPIResponse):
                    documented.content = dict(content)
            self.responses = responses

    return MediaTypesOperation

"""OpenAPI 3.1 at /api/openapi.json, with Swagger UI at /api-docs outside production."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.datastructures import ResponseHeader
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

DESCRIPTION = """Docket's JSON API.

* **Auth**: send `Authorization: Bearer <access token>` from `/api/v1/auth/login`, or a personal
  access token (`dkt_…`, from `POST /api/v1/tokens`) limited to its scopes and, optionally, one workspace.
* **Workspaces**: every document belongs to one. Someone who is not a member gets 404 for a workspace
  and everything in it; a member whose role (or token scope) does not allow an action gets 403.
* **Rate limits**: every response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`;
  a 429 adds `Retry-After`.
* **Errors**: every 4xx and 5xx is `application/problem+json` (RFC 9457) with `type`, `title`, `status`,
  `detail` and `instance`; validation errors add `errors`, a list of `{field, message}`.
* **Request bodies** are strict: a field the schema does not name is refused with 422
  (`additionalProperties: false`), so a misspelt optional field never goes silently unread.
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


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """msgspec Structs that refuse unknown fields say so: ``additionalProperties: false``."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                schema.additional_properties = False
            for struct_field in info.fields:
                _state_item_constraints(schema.properties or {}, struct_field)
        return schema


def _state_item_constraints(properties: dict[str, Any], struct_field: msgspec.inspect.Field) -> None:
    """Litestar drops the constraints of a list's string items (``list[Annotated[str, Meta(...)]]``):
    put them back on the property's array schema, so clients and fuzzers see what the server checks."""
    item = _list_item(struct_field.type)
    prop = properties.get(struct_field.encode_name)
    if not isinstance(item, msgspec.inspect.StrType) or not isinstance(prop, Schema):
        return
    for array in [prop, *(prop.one_of or [])]:
        if isinstance(array, Schema) and isinstance(array.items, Schema):
            array.items.min_length = item.min_length
            array.items.max_length = item.max_length
            array.items.pattern = item.pattern


def _list_item(kind: msgspec.inspect.Type) -> msgspec.inspect.Type | None:
    if isinstance(kind, msgspec.inspect.UnionType):
        found = [_list_item(t) for t in kind.types]
        return next((f for f in found if f is not None), None)
    if isinstance(kind, msgspec.inspect.ListType):
        return kind.item_type
    return None

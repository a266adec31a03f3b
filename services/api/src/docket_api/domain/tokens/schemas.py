"""Request and response bodies of the personal access token endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from docket_api.domain import patterns

MAX_TOKEN_DAYS = 365  # at most a year
ScopeName = Literal["documents:read", "documents:write", "workspaces:admin"]


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=patterns.DISPLAY_NAME)]
    scopes: Annotated[list[ScopeName], msgspec.Meta(min_length=1, max_length=3)]
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_TOKEN_DAYS)] = 90
    workspace_id: Annotated[str, msgspec.Meta(pattern=patterns.UUID)] | None = None


class TokenOut(msgspec.Struct):
    id: str
    name: str
    scopes: list[str]
    workspace_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    """``token`` is the secret, shown this once: send it as ``Authorization: Bearer <token>``."""

    token: str

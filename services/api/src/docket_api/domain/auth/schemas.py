"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from docket_api.domain import patterns
from docket_api.domain.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=patterns.EMAIL)]
NewPassword = Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=16, max_length=200)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class Registration(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: NewPassword


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken | None = None


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105  # the OAuth token type, not a secret


class UserOut(msgspec.Struct):
    id: str
    email: str
    created_at: dt.datetime

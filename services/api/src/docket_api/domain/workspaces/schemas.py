"""Request and response bodies of the workspace, member and invitation endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from docket_api.domain import patterns

WorkspaceName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=patterns.DISPLAY_NAME)]
# 'owner' is never granted by a role change or an invitation: ownership moves only by transfer
GrantableRole = Literal["viewer", "editor", "admin"]
MAX_INVITATION_HOURS = 30 * 24


class WorkspaceIn(msgspec.Struct, forbid_unknown_fields=True):
    name: WorkspaceName


class WorkspacePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Rename, or transfer ownership to another member (the old owner becomes an admin)."""

    name: WorkspaceName | None = None
    owner_id: Annotated[str, msgspec.Meta(pattern=patterns.UUID)] | None = None


class WorkspaceOut(msgspec.Struct):
    id: str
    name: str
    personal: bool
    role: str
    created_at: dt.datetime


class MemberOut(msgspec.Struct):
    user_id: str
    email: str
    role: str
    joined_at: dt.datetime


class MemberPatch(msgspec.Struct, forbid_unknown_fields=True):
    role: GrantableRole


class InvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    role: GrantableRole = "viewer"
    expires_in_hours: Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITATION_HOURS)] = 7 * 24


class InvitationOut(msgspec.Struct):
    id: str
    workspace_id: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime


class InvitationCreated(InvitationOut):
    """The secret is shown once; the link to share is ``/invitations/<token>`` on the web."""

    token: str

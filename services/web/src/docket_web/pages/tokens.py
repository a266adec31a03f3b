"""``/tokens``: the user's personal access tokens: create (the secret shown once), list and revoke."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from docket_web.server.api import Api
from docket_web.server.forms import RefusedError, change, field, values
from docket_web.server.render import AnyRequest, page, provide_api
from docket_web.server.workspaces import load_workspaces

SCOPES = ("documents:read", "documents:write", "workspaces:admin")
DEFAULT_DAYS = 90
MAX_DAYS = 365


class TokenController(Controller):
    path = "/tokens"
    dependencies = {"api": Provide(provide_api)}

    async def _page(
        self,
        request: AnyRequest,
        api: Api,
        *,
        status: int = 200,
        error: str | None = None,
        created: dict[str, Any] | None = None,
    ) -> Template:
        ws = await load_workspaces(api)
        tokens = await api.get_json("/api/v1/tokens")
        names = {workspace.id: workspace.name for workspace in ws.all}
        return page(
            request,
            "tokens.html",
            status=status,
            ws=ws,
            tokens=tokens,
            workspace_names=names,
            scopes=SCOPES,
            default_days=DEFAULT_DAYS,
            max_days=MAX_DAYS,
            error=error,
            created=created,
        )

    @get("/")
    async def list_tokens(self, request: AnyRequest, api: NamedDependency[Api]) -> Template:
        """The user's tokens (never their secrets) and the form to create one."""
        api.require_session()
        return await self._page(request, api)

    @post("/")
    async def create(self, request: AnyRequest, api: NamedDependency[Api]) -> Template:
        """Create a token; the page that answers is the only place its secret is ever shown."""
        form = await request.form()
        body: dict[str, Any] = {"name": field(form, "name").strip(), "scopes": values(form, "scope")}
        days = field(form, "expires_in_days", 10).strip()
        body["expires_in_days"] = int(days) if days.isdigit() else (days or DEFAULT_DAYS)
        if workspace := field(form, "workspace_id", 40).strip():
            body["workspace_id"] = workspace
        try:
            created = await change(api, "POST", "/api/v1/tokens", body)
        except RefusedError as refusal:
            return await self._page(request, api, status=refusal.status, error=refusal.message)
        return await self._page(request, api, status=201, created=created)

    @post("/{token_id:uuid}/revoke")
    async def revoke(
        self, request: AnyRequest, api: NamedDependency[Api], token_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """Revoke a token: the API refuses it from the next request on."""
        try:
            await change(api, "DELETE", f"/api/v1/tokens/{token_id}")
        except RefusedError as refusal:
            return await self._page(request, api, status=refusal.status, error=refusal.message)
        return Redirect("/tokens", status_code=303)

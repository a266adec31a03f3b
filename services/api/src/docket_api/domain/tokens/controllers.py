"""``/api/v1/tokens``: create (the secret shown once), list and revoke personal access tokens."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from docket_api.domain.audit.caller import Caller, provide_caller
from docket_api.domain.responses import AUTH_PROBLEM_RESPONSES, problem_spec
from docket_api.domain.tokens.schemas import TokenCreated, TokenIn, TokenOut
from docket_api.domain.tokens.service import TokenService

RESPONSES = {
    **AUTH_PROBLEM_RESPONSES,
    403: problem_spec("Tokens are managed from a signed-in session, not with a token; or `quota-tokens`"),
    404: problem_spec("No such token of yours, or no such workspace of yours"),
}


def provide_tokens(request: Request[Any, Any, Any]) -> TokenService:
    return request.app.state.tokens  # type: ignore[no-any-return]


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["tokens"]
    security = [{"BearerToken": []}]
    dependencies = {
        "caller": Provide(provide_caller, sync_to_thread=False),
        "tokens": Provide(provide_tokens, sync_to_thread=False),
    }

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a personal access token (shown once)",
        responses=RESPONSES,
    )
    async def create_token(
        self, data: JSONBody[TokenIn], caller: NamedDependency[Caller], tokens: NamedDependency[TokenService]
    ) -> TokenCreated:
        return await tokens.create(caller, data)

    @get("/", summary="Your personal access tokens (never their secrets)", responses=RESPONSES)
    async def list_tokens(
        self, caller: NamedDependency[Caller], tokens: NamedDependency[TokenService]
    ) -> list[TokenOut]:
        return await tokens.list_for(caller)

    @delete(
        "/{token_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Revoke a token", responses=RESPONSES
    )
    async def revoke_token(
        self,
        token_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
        tokens: NamedDependency[TokenService],
    ) -> None:
        await tokens.revoke(caller, token_id)

"""``/api/v1/auth``: register, login, refresh, logout and me."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from docket_api.domain.auth.deps import provide_auth_service, provide_client_address, provide_principal
from docket_api.domain.auth.schemas import (
    Credentials,
    LogoutRequest,
    RefreshRequest,
    Registration,
    TokenPair,
    UserOut,
)
from docket_api.domain.auth.service import AuthService
from docket_api.domain.auth.tokens import Principal
from docket_api.domain.operations import OptionalBodyOperation
from docket_api.domain.responses import AUTH_PROBLEM_RESPONSES, PROBLEM_RESPONSES, problem_spec
from docket_api.domain.workspaces.authz import require_session

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
HASHING_BUSY = problem_spec(
    "Every password-hashing slot stayed busy for PASSWORD_HASH_WAIT_SECONDS (or a bearer token sent along"
    " could not be checked); `Retry-After` says when to retry"
)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = {"auth": Provide(provide_auth_service, sync_to_thread=False)}

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create an account",
        responses={**PROBLEM_RESPONSES, 409: PROBLEM_RESPONSES[400], 503: HASHING_BUSY},
    )
    async def register(self, data: JSONBody[Registration], auth: NamedDependency[AuthService]) -> UserOut:
        return await auth.register(data.email, data.password)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Exchange credentials for tokens",
        dependencies={"client_address": Provide(provide_client_address, sync_to_thread=False)},
        responses={**AUTH_PROBLEM_RESPONSES, 503: HASHING_BUSY},
    )
    async def login(
        self,
        data: JSONBody[Credentials],
        auth: NamedDependency[AuthService],
        client_address: NamedDependency[str],
    ) -> TokenPair:
        return await auth.login(data.email, data.password, client_address)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        summary="Rotate a refresh token",
        responses=AUTH_PROBLEM_RESPONSES,
    )
    async def refresh(self, data: JSONBody[RefreshRequest], auth: NamedDependency[AuthService]) -> TokenPair:
        return await auth.refresh(data.refresh_token)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER,
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        summary="Revoke the refresh token family (or all of them) and this access token",
        description="With a body naming `refresh_token`, that login's family is revoked; with no body"
        " (or `{}`, or `null`), every refresh token of the account. The access token sent is revoked"
        " in either case.",
        operation_class=OptionalBodyOperation,
        responses={
            **AUTH_PROBLEM_RESPONSES,
            403: problem_spec("Sent with a personal access token, not a session"),
        },
    )
    async def logout(
        self,
        principal: NamedDependency[Principal],
        auth: NamedDependency[AuthService],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        require_session(principal)  # a personal token cannot sign its owner out everywhere
        await auth.logout(principal, data.refresh_token if data else None)

    @get(
        "/me",
        security=BEARER,
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        summary="The signed-in user",
        responses=AUTH_PROBLEM_RESPONSES,
    )
    async def me(self, principal: NamedDependency[Principal], auth: NamedDependency[AuthService]) -> UserOut:
        return await auth.me(principal)

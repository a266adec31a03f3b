"""Dependencies that route handlers use to get the caller and the auth service."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from docket_api.domain.auth.service import AuthService, unauthorized
from docket_api.domain.auth.tokens import Principal

PRINCIPAL_SCOPE_KEY = "docket.principal"
CLIENT_IP_SCOPE_KEY = "docket.client_ip"  # the end user's address, as the gate resolved it


def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller; 401 when the request carries no valid access token."""
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY)  # type: ignore[misc]
    if not isinstance(principal, Principal):
        raise unauthorized("A valid bearer access token is required.")
    return principal


def provide_auth_service(request: ASGIConnection[Any, Any, Any, Any]) -> AuthService:
    return request.app.state.auth_service  # type: ignore[no-any-return]


def provide_client_address(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The end user's address (X-Forwarded-For believed only from TRUSTED_PROXIES)."""
    address = request.scope.get(CLIENT_IP_SCOPE_KEY)  # type: ignore[misc]
    if isinstance(address, str):
        return address
    return request.client.host if request.client else "unknown"

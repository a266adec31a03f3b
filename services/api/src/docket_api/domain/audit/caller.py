"""Who is acting, as the audit log records them: the principal and the client address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from psycopg import AsyncConnection

from docket_api.domain.auth.deps import provide_client_address, provide_principal
from docket_api.domain.auth.tokens import Principal
from docket_core.tables import audit


@dataclass(frozen=True)
class Caller:
    principal: Principal
    client_ip: str

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    async def record(
        self,
        conn: AsyncConnection[Any],
        action: str,
        workspace_id: uuid.UUID | str | None,
        target_type: str | None = None,
        target_id: object = None,
        **details: Any,
    ) -> None:
        """One audit entry for an action this caller took, in the caller's transaction."""
        if self.principal.scopes is not None:
            details["token_id"] = self.principal.token_id
        await audit.record(
            conn,
            action=action,
            actor_id=self.user_id,
            workspace_id=workspace_id,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            client_ip=self.client_ip,
            details=details,
        )


def provide_caller(request: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The authenticated caller and their address; 401 without a valid bearer token."""
    return Caller(provide_principal(request), provide_client_address(request))

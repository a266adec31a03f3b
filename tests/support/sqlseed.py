"""Rows straight into SQL for tests that read the database directly."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg


def users_with_personal_workspaces(
    conn: psycopg.Connection[Any], count: int
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """``count`` new users, each with the personal workspace the API would give them: (users, workspaces)."""
    users = [uuid.uuid4() for _ in range(count)]
    for user in users:
        conn.execute(
            "INSERT INTO users (id, email, password_hash) VALUES (%s, %s, 'x')", (user, f"{user}@example.com")
        )
    workspaces = []
    for user in users:
        row = conn.execute("SELECT docket_personal_workspace(%s)", (user,)).fetchone()
        assert row is not None
        workspaces.append(row[0])
    return users, workspaces

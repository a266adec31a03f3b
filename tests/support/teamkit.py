"""Helpers for tests of workspaces: people with sessions, a shared workspace, invitations, tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from apikit import bearer, register_and_login


@dataclass
class Person:
    email: str
    id: str
    headers: dict[str, str]
    personal: str  # their personal workspace's id


def person(api: httpx.Client, email: str) -> Person:
    """A registered, signed-in user."""
    headers = bearer(register_and_login(api, email)["access_token"])
    me = api.get("/api/v1/auth/me", headers=headers).json()
    workspaces = api.get("/api/v1/workspaces", headers=headers).json()
    personal = next(w["id"] for w in workspaces if w["personal"])
    return Person(email, me["id"], headers, personal)


def create_workspace(api: httpx.Client, owner: Person, name: str = "Team") -> str:
    created = api.post("/api/v1/workspaces", json={"name": name}, headers=owner.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def invite(
    api: httpx.Client, admin: Person, workspace: str, role: str = "viewer", **extra: Any
) -> dict[str, Any]:
    created = api.post(
        f"/api/v1/workspaces/{workspace}/invitations", json={"role": role, **extra}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def join(api: httpx.Client, admin: Person, member: Person, workspace: str, role: str = "viewer") -> None:
    """``member`` joins ``workspace`` with ``role`` through an invitation."""
    token = invite(api, admin, workspace, role)["token"]
    accepted = api.post(f"/api/v1/invitations/{token}/accept", headers=member.headers)
    assert accepted.status_code == 201, accepted.text


def upload(
    api: httpx.Client, who: Person, workspace: str | None, data: bytes, name: str = "notes.txt"
) -> httpx.Response:
    params = {"workspace_id": workspace} if workspace else {}
    return api.post(
        "/api/v1/documents", params=params, files={"file": (name, data, "text/plain")}, headers=who.headers
    )


def personal_token(api: httpx.Client, who: Person, scopes: list[str], **extra: Any) -> dict[str, Any]:
    created = api.post(
        "/api/v1/tokens", json={"name": "script", "scopes": scopes, **extra}, headers=who.headers
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]

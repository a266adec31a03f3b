"""The authorization matrix: every route of the OpenAPI document x every role (none, viewer, editor,
admin, owner) x the credential (a session; a personal token whose scopes allow the route; one whose
scopes do not). Each case asserts the exact status, and that a refusal changed nothing.

The expectations below are written out by hand, independently of ``authz.PERMISSIONS``: a change to
the table that this file does not also make fails here. A route the OpenAPI document lists and this
table does not fails ``test_every_route_of_the_openapi_document_is_in_the_matrix``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from apikit import PASSWORD, TEST_SECRET, api_settings, bearer
from servers import ThreadedServer

from docket_api.app import create_app
from docket_api.domain.auth.tokens import TokenCodec

ROLES = ("none", "viewer", "editor", "admin", "owner")
RANK = {role: n for n, role in enumerate(ROLES)}
CREDENTIALS = ("session", "token-allowed", "token-denied")
ALL_SCOPES = ("documents:read", "documents:write", "workspaces:admin")
READ, WRITE, ADMIN = ALL_SCOPES


@dataclass(frozen=True)
class Rule:
    """What a route answers: ``ok`` for a member of at least ``min_role`` holding ``scope``.

    ``min_role=None``: the route is not about one workspace (any signed-in user). ``scope=None``: any
    token may call it. ``session_only``: personal tokens get 403 whatever their scopes.
    """

    ok: int
    min_role: str | None = None
    scope: str | None = None
    session_only: bool = False
    member_status: int | None = None  # what a member gets where a stranger gets ``ok`` (accepting)
    public: bool = False  # no credential needed: the answer is the same whoever calls


RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/auth/register"): Rule(201, public=True),
    ("POST", "/api/v1/auth/login"): Rule(200, public=True),
    ("POST", "/api/v1/auth/refresh"): Rule(401, public=True),
    ("POST", "/api/v1/auth/logout"): Rule(204, session_only=True),
    ("GET", "/api/v1/auth/me"): Rule(200),
    ("GET", "/api/v1/tokens"): Rule(200, session_only=True),
    ("POST", "/api/v1/tokens"): Rule(201, session_only=True),
    ("DELETE", "/api/v1/tokens/{token_id}"): Rule(204, session_only=True),
    ("GET", "/api/v1/workspaces"): Rule(200),
    ("POST", "/api/v1/workspaces"): Rule(201, scope=ADMIN),
    ("GET", "/api/v1/workspaces/{workspace_id}"): Rule(200, "viewer", READ),
    ("PATCH", "/api/v1/workspaces/{workspace_id}"): Rule(200, "owner", ADMIN),
    ("DELETE", "/api/v1/workspaces/{workspace_id}"): Rule(204, "owner", ADMIN),
    ("GET", "/api/v1/workspaces/{workspace_id}/members"): Rule(200, "viewer", READ),
    ("PATCH", "/api/v1/workspaces/{workspace_id}/members/{user_id}"): Rule(200, "admin", ADMIN),
    ("DELETE", "/api/v1/workspaces/{workspace_id}/members/{user_id}"): Rule(204, "admin", ADMIN),
    ("GET", "/api/v1/workspaces/{workspace_id}/invitations"): Rule(200, "admin", ADMIN),
    ("POST", "/api/v1/workspaces/{workspace_id}/invitations"): Rule(201, "admin", ADMIN),
    ("DELETE", "/api/v1/workspaces/{workspace_id}/invitations/{invitation_id}"): Rule(204, "admin", ADMIN),
    ("POST", "/api/v1/invitations/{token}/accept"): Rule(201, session_only=True, member_status=409),
    ("GET", "/api/v1/workspaces/{workspace_id}/tags"): Rule(200, "viewer", READ),
    ("GET", "/api/v1/workspaces/{workspace_id}/audit"): Rule(200, "admin", ADMIN),
    ("POST", "/api/v1/documents"): Rule(201, "editor", WRITE),
    ("GET", "/api/v1/documents"): Rule(200, "viewer", READ),
    ("GET", "/api/v1/documents/{document_id}"): Rule(200, "viewer", READ),
    ("PATCH", "/api/v1/documents/{document_id}"): Rule(200, "editor", WRITE),
    ("DELETE", "/api/v1/documents/{document_id}"): Rule(204, "editor", WRITE),
    ("GET", "/api/v1/documents/{document_id}/content"): Rule(200, "viewer", READ),
    ("GET", "/api/v1/documents/{document_id}/events"): Rule(200, "viewer", READ),
    ("GET", "/api/v1/documents/{document_id}/thumbnail"): Rule(200, "viewer", READ),
    ("POST", "/api/v1/documents/{document_id}/reprocess"): Rule(202, "editor", WRITE),
    ("GET", "/api/v1/search"): Rule(200, "viewer", READ),
}


def expected_status(rule: Rule, role: str, credential: str) -> int:
    if rule.public:
        return rule.ok
    if rule.session_only and credential != "session":
        return 403
    if rule.min_role is None:
        if rule.member_status is not None and role != "none":
            return rule.member_status
        return 403 if credential == "token-denied" and rule.scope else rule.ok
    if role == "none":
        return 404
    if RANK[role] < RANK[rule.min_role]:
        return 403
    return 403 if credential == "token-denied" else rule.ok


@dataclass
class World:
    url: str
    database_url: str
    users: dict[str, str]  # role name -> user id (each user is a member of every case's workspace)
    codec: TokenCodec
    conn: psycopg.Connection[Any]
    counter: list[int] = field(default_factory=lambda: [0])

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        cur = self.conn.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchone() if cur.description else None


@pytest.fixture(scope="module")
def world(make_database: Callable[[bool], str], redis_url: str) -> Iterator[World]:
    database_url = make_database(True)
    users: dict[str, str] = {}
    for role in ROLES:
        row = (
            psycopg.connect(database_url, autocommit=True)
            .execute(
                "INSERT INTO users (email, password_hash) VALUES (%s, 'not-a-hash') RETURNING id",
                (f"{role}@matrix.test",),
            )
            .fetchone()
        )
        assert row is not None
        users[role] = str(row[0])
    codec = TokenCodec(TEST_SECRET, "", "docket", "docket-api", 900)
    with (
        ThreadedServer(create_app(api_settings(database_url, redis_url))) as server,
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        with httpx.Client(base_url=server.url, timeout=10) as client:  # one real account, for login
            assert (
                client.post(
                    "/api/v1/auth/register", json={"email": "login@matrix.test", "password": PASSWORD}
                ).status_code
                == 201
            )
        yield World(server.url, database_url, users, codec, conn)


@dataclass
class Case:
    """A fresh workspace where each role's user holds that role, and fresh targets in it."""

    workspace: str
    document: str
    target_member: str
    invitation: str
    invitation_secret: str
    own_token: str


def _fresh_case(world: World, actor: str) -> Case:
    world.counter[0] += 1
    n = world.counter[0]
    # the previous cases' workspaces go (with their documents, members and tags): no quota fills up
    world.sql("DELETE FROM workspaces WHERE personal_of IS NULL")
    world.sql("DELETE FROM api_tokens")
    workspace = str(world.sql("INSERT INTO workspaces (name) VALUES (%s) RETURNING id", (f"case {n}",))[0])
    for role in ROLES[1:]:
        world.sql("INSERT INTO memberships (workspace_id, user_id, role) VALUES (%s, %s, %s)",
                  (workspace, world.users[role], role))  # fmt: skip
    target = str(world.sql("INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id",
                           (f"target{n}@matrix.test",))[0])  # fmt: skip
    world.sql(
        "INSERT INTO memberships (workspace_id, user_id, role) VALUES (%s, %s, 'viewer')", (workspace, target)
    )
    data = f"case {n} words".encode()
    blob = world.sql("INSERT INTO document_blobs (size_bytes) VALUES (%s) RETURNING id", (len(data),))[0]
    world.sql("INSERT INTO document_blob_chunks (blob_id, seq, data) VALUES (%s, 0, %s)", (blob, data))
    text = data.decode()
    document = str(world.sql(
        "INSERT INTO documents (workspace_id, owner_id, blob_id, filename, title, content_type, size_bytes, "
        "sha256, status, extracted_text, search) VALUES (%s, %s, %s, 'case.txt', 'Case', 'text/plain', %s, "
        "%s, 'ready', %s, to_tsvector('english', %s)) RETURNING id",
        (workspace, world.users["owner"], blob, len(data), hashlib.sha256(data).digest(), text, text),
    )[0])  # fmt: skip
    world.sql("INSERT INTO document_thumbnails (document_id, webp, etag) VALUES (%s, %s, %s)",
              (document, b"RIFF\x0c\x00\x00\x00WEBPVP8L", f'"case-{n}"'))  # fmt: skip
    world.sql("UPDATE documents SET thumbnail_etag = %s WHERE id = %s", (f'"case-{n}"', document))
    secret = secrets.token_urlsafe(32)
    invitation = str(world.sql(
        "INSERT INTO invitations (workspace_id, token_hash, role, expires_at) "
        "VALUES (%s, %s, 'viewer', now() + interval '1 day') RETURNING id",
        (workspace, hashlib.sha256(secret.encode()).digest()),
    )[0])  # fmt: skip
    own_token = str(world.sql(
        "INSERT INTO api_tokens (user_id, name, token_hash, scopes, expires_at) "
        "VALUES (%s, 'target', %s, '{documents:read}', now() + interval '1 day') RETURNING id",
        (world.users[actor], secrets.token_bytes(32)),
    )[0])  # fmt: skip
    return Case(workspace, document, target, invitation, secret, own_token)


def _credential(world: World, actor: str, rule: Rule, credential: str) -> dict[str, str]:
    user = world.users[actor]
    if credential == "session":
        return bearer(world.codec.issue(user))
    if rule.session_only:
        scopes = list(ALL_SCOPES)  # every scope, and still refused
    elif rule.scope is None:
        scopes = [READ] if credential == "token-allowed" else [WRITE]
    else:
        scopes = [rule.scope] if credential == "token-allowed" else [s for s in ALL_SCOPES if s != rule.scope]
    secret = "dkt_" + secrets.token_urlsafe(32)
    world.sql(
        "INSERT INTO api_tokens (user_id, name, token_hash, scopes, expires_at) "
        "VALUES (%s, 'matrix', %s, %s, now() + interval '1 hour')",
        (user, hashlib.sha256(secret.encode()).digest(), scopes),
    )
    return bearer(secret)


def _request(method: str, path: str, case: Case, world: World) -> dict[str, Any]:
    url = (path.replace("{workspace_id}", case.workspace).replace("{document_id}", case.document)
           .replace("{user_id}", case.target_member).replace("{invitation_id}", case.invitation)
           .replace("{token}", case.invitation_secret).replace("{token_id}", case.own_token))  # fmt: skip
    kwargs: dict[str, Any] = {}
    unique = uuid.uuid4().hex
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/auth/register"): {"email": f"{unique}@matrix.test", "password": PASSWORD},
        ("POST", "/api/v1/auth/login"): {"email": "login@matrix.test", "password": PASSWORD},
        ("POST", "/api/v1/auth/refresh"): {"refresh_token": "x" * 43},
        ("POST", "/api/v1/tokens"): {"name": "made", "scopes": [READ]},
        ("POST", "/api/v1/workspaces"): {"name": f"made {unique}"},
        ("PATCH", "/api/v1/workspaces/{workspace_id}"): {"name": "Renamed"},
        ("PATCH", "/api/v1/workspaces/{workspace_id}/members/{user_id}"): {"role": "editor"},
        ("POST", "/api/v1/workspaces/{workspace_id}/invitations"): {"role": "viewer"},
        ("PATCH", "/api/v1/documents/{document_id}"): {"title": "Edited", "tags": ["matrix"]},
    }
    if (method, path) in bodies:
        kwargs["json"] = bodies[(method, path)]
    if (method, path) in {("GET", "/api/v1/documents"), ("POST", "/api/v1/documents")}:
        kwargs["params"] = {"workspace_id": case.workspace}
    if (method, path) == ("GET", "/api/v1/search"):
        kwargs["params"] = {"q": "words", "workspace_id": case.workspace}
    if (method, path) == ("POST", "/api/v1/documents"):
        kwargs["files"] = {"file": ("new.txt", f"new {unique}".encode(), "text/plain")}
    return {"method": method, "url": url, **kwargs}


def _snapshot(world: World) -> tuple[Any, ...]:
    """Everything a request could change, as one comparable value."""
    queries = [
        "SELECT md5(string_agg(id::text || name, ',' ORDER BY id)) FROM workspaces",
        "SELECT md5(string_agg(workspace_id::text || user_id::text || role, ',' "
        "ORDER BY workspace_id, user_id)) FROM memberships",
        "SELECT md5(string_agg(id::text || coalesce(accepted_at::text, '') "
        "|| coalesce(revoked_at::text, ''), ',' ORDER BY id)) FROM invitations",
        "SELECT md5(string_agg(id::text || title || status || updated_at::text, ',' ORDER BY id)) "
        "FROM documents",
        "SELECT count(*) FROM document_tags",
        "SELECT md5(string_agg(id::text || coalesce(revoked_at::text, ''), ',' ORDER BY id)) FROM api_tokens "
        "WHERE name <> 'matrix'",
        "SELECT count(*) FROM audit_log",
        "SELECT count(*) FROM jobs",
        "SELECT count(*) FROM users",
    ]
    return tuple(world.sql(q) for q in queries)


CASES = [
    (method, path, role, credential)
    for (method, path) in RULES
    for role in ROLES
    for credential in CREDENTIALS
]


@pytest.mark.parametrize(("method", "path", "role", "credential"), CASES,
                         ids=[f"{m} {p} {r} {c}" for m, p, r, c in CASES])  # fmt: skip
def test_route_role_and_credential_get_exactly_the_status_the_matrix_says(
    world: World, method: str, path: str, role: str, credential: str
) -> None:
    rule = RULES[(method, path)]
    case = _fresh_case(world, role)
    headers = (
        {} if rule.public and credential == "token-denied" else _credential(world, role, rule, credential)
    )
    before = _snapshot(world)
    with httpx.Client(base_url=world.url, timeout=10) as client:
        response = client.request(**_request(method, path, case, world), headers=headers)
    expected = expected_status(rule, role, credential)
    assert response.status_code == expected, response.text[:500]
    if expected >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert _snapshot(world) == before, "a refused request changed something"
    elif method != "GET" and path != "/api/v1/auth/logout":  # logout changes Redis, not the database
        assert _snapshot(world) != before, "the snapshot would not have seen a change"


def test_every_route_of_the_openapi_document_is_in_the_matrix(world: World) -> None:
    document = httpx.get(f"{world.url}/api/openapi.json", timeout=10).json()
    routes = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert routes - set(RULES) == set(), "routes missing from the authorization matrix"
    assert set(RULES) - routes == set(), "the matrix names routes the API does not have"

"""A rolling upgrade, for real: the release before workspaces keeps working on the expanded schema.

Seed the old schema with users and documents; run expand; start the previous release's API (its code
checked out of git into a temporary worktree) against the expanded schema and list, upload and search
with it; then run contract and check that every document sits in its owner's personal workspace,
and that the new code serves them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from apikit import PASSWORD, api_process, bearer, register_and_login

from docket_api.db.migrate import CONTRACT, EXPAND, load_migrations, migrate

REPO = Path(__file__).resolve().parents[3]
FIRST_NEW_MIGRATION = "services/api/src/docket_api/db/migrations/0004_workspaces.sql"
BEFORE_WORKSPACES = 3


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The code just before workspaces came in, in a temporary git worktree (removed afterwards)."""
    added = _git("log", "--diff-filter=A", "--format=%H", "--", FIRST_NEW_MIGRATION).splitlines()
    assert added, f"git history does not show when {FIRST_NEW_MIGRATION} was added"
    where = tmp_path_factory.mktemp("previous") / "release"
    _git("worktree", "add", "--detach", str(where), f"{added[-1]}^")
    try:
        assert not (where / FIRST_NEW_MIGRATION).exists()
        yield where
    finally:
        _git("worktree", "remove", "--force", str(where))


def _login(api: httpx.Client, email: str) -> dict[str, str]:
    signed_in = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return bearer(signed_in.json()["access_token"])


def _ready(database_url: str, document_id: str, text: str) -> None:
    """What the worker does when a document is processed: text, status and search vector."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE documents SET status = 'ready', extracted_text = %s, search = to_tsvector('english', %s) "
            "WHERE id = %s",
            (text, text, document_id),
        )


def test_the_previous_release_lists_uploads_and_searches_on_the_expanded_schema_then_contract_finishes(
    make_database: Callable[[bool], str], clean_redis: str, previous_release: Path
) -> None:
    url = make_database(False)
    migrate(url, migrations=load_migrations()[:BEFORE_WORKSPACES])
    old_code = {"PYTHONPATH": os.pathsep.join(
        str(previous_release / "services" / name / "src") for name in ("api", "core")
    )}  # fmt: skip
    # seeded by the previous release, at its own schema
    with api_process(url, clean_redis, **old_code) as old, httpx.Client(base_url=old.url, timeout=15) as api:
        ada = bearer(register_and_login(api, "ada@example.com")["access_token"])
        seeded = api.post("/api/v1/documents", files={"file": ("a.txt", b"pangolin seeded", "text/plain")},
                          headers=ada)  # fmt: skip
        assert seeded.status_code == 201, seeded.text
    _ready(url, seeded.json()["id"], "pangolin seeded")

    assert all(m.phase == EXPAND for m in migrate(url, phase=EXPAND))

    with api_process(url, clean_redis, **old_code) as old, httpx.Client(base_url=old.url, timeout=15) as api:
        assert httpx.get(f"http://127.0.0.1:{old.management_port}/readyz", timeout=5).status_code == 200
        paths = api.get("/api/openapi.json").json()["paths"]
        assert "/api/v1/workspaces" not in paths, "this is the previous release's code"
        ada = _login(api, "ada@example.com")
        listed = api.get("/api/v1/documents", headers=ada)
        assert listed.status_code == 200, listed.text
        assert [d["id"] for d in listed.json()["items"]] == [seeded.json()["id"]]
        uploaded = api.post("/api/v1/documents", files={"file": ("b.txt", b"pangolin during", "text/plain")},
                            headers=ada)  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
        duplicate = api.post("/api/v1/documents", files={"file": ("c.txt", b"pangolin during", "text/plain")},
                             headers=ada)  # fmt: skip
        assert duplicate.status_code == 409
        _ready(url, uploaded.json()["id"], "pangolin during")
        hits = api.get("/api/v1/search", params={"q": "pangolin"}, headers=ada)
        assert hits.status_code == 200, hits.text
        assert len(hits.json()["items"]) == 2
        bob = bearer(register_and_login(api, "bob@example.com")["access_token"])  # no workspace yet
        assert api.post("/api/v1/documents", files={"file": ("d.txt", b"bob's", "text/plain")},
                        headers=bob).status_code == 201  # fmt: skip

    assert all(m.phase == CONTRACT for m in migrate(url, phase=CONTRACT))
    with psycopg.connect(url) as conn:
        misplaced = conn.execute(
            "SELECT count(*) FROM documents d LEFT JOIN workspaces w ON w.id = d.workspace_id "
            "WHERE w.personal_of IS DISTINCT FROM d.owner_id"
        ).fetchone()
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()
    assert documents == (3,)
    assert misplaced == (0,)

    with api_process(url, clean_redis) as new, httpx.Client(base_url=new.url, timeout=15) as api:
        ada = _login(api, "ada@example.com")
        assert len(api.get("/api/v1/documents", headers=ada).json()["items"]) == 2
        assert len(api.get("/api/v1/search", params={"q": "pangolin"}, headers=ada).json()["items"]) == 2

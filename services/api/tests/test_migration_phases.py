"""Expand and contract migrations: the pre-upgrade hook applies only what the previous release
survives, documents move into their owner's personal workspace, and contract finishes the job."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from apikit import run_migrate

from docket_api.db.migrate import (
    CONTRACT,
    EXPAND,
    Migration,
    MigrationError,
    load_migrations,
    migrate,
    required_version,
)

MakeDatabase = Callable[[bool], str]
BEFORE_WORKSPACES = 3  # main's schema before issue #14


def _seed_old_schema(url: str) -> dict[str, list[str]]:
    """Two users with documents, at the schema before workspaces; returns each user's document ids."""
    migrate(url, migrations=load_migrations()[:BEFORE_WORKSPACES])
    owned: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        for email, count in (("ada@example.com", 2), ("bob@example.com", 1)):
            (user_id,) = conn.execute(  # type: ignore[misc]
                "INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id", (email,)
            ).fetchone()
            owned[str(user_id)] = []
            for n in range(count):
                (blob_id,) = conn.execute("INSERT INTO document_blobs DEFAULT VALUES RETURNING id").fetchone()  # type: ignore[misc]
                (doc_id,) = conn.execute(  # type: ignore[misc]
                    "INSERT INTO documents (owner_id, blob_id, filename, title, content_type, size_bytes, "
                    "sha256) VALUES (%s, %s, 'a.txt', 'A', 'text/plain', 1, %s) RETURNING id",
                    (user_id, blob_id, bytes([n]) * 32),
                ).fetchone()
                owned[str(user_id)].append(str(doc_id))
    return owned


def _personal_workspace_of_each_document(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT d.id, w.personal_of FROM documents d LEFT JOIN workspaces w ON w.id = d.workspace_id"
        ).fetchall()
    return {str(doc): str(owner) for doc, owner in rows}


def test_every_migration_after_0003_names_its_phase_in_its_first_line() -> None:
    for migration in load_migrations()[BEFORE_WORKSPACES:]:
        assert migration.sql.startswith(f"-- phase: {migration.phase}\n"), migration.name
    assert {m.phase for m in load_migrations()} == {EXPAND, CONTRACT}


def test_a_file_without_a_header_is_expand_and_an_unknown_phase_is_refused() -> None:
    assert Migration(1, "plain", "CREATE TABLE t ();").phase == EXPAND
    with pytest.raises(MigrationError, match="names phase 'sideways'"):
        _ = Migration(9, "odd", "-- phase: sideways\nSELECT 1;").phase
    with pytest.raises(MigrationError, match="unknown phase"):
        migrate("postgresql://unused", phase="sideways")


def test_expand_applies_only_expand_steps_and_the_code_is_ready_with_them(
    make_database: MakeDatabase,
) -> None:
    url = make_database(False)
    applied = migrate(url, phase=EXPAND)
    assert applied
    assert all(m.phase == EXPAND for m in applied)
    assert max(m.version for m in applied) == required_version()
    contracted = migrate(url, phase=CONTRACT)
    assert contracted
    assert all(m.phase == CONTRACT for m in contracted)
    assert migrate(url) == []


def test_expand_moves_documents_into_the_owners_personal_workspaces(make_database: MakeDatabase) -> None:
    url = make_database(False)
    owned = _seed_old_schema(url)
    migrate(url, phase=EXPAND)
    placed = _personal_workspace_of_each_document(url)
    assert placed == {doc: owner for owner, docs in owned.items() for doc in docs}
    with psycopg.connect(url) as conn:
        roles = conn.execute(
            "SELECT m.user_id, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
            "WHERE w.personal_of = m.user_id"
        ).fetchall()
    assert sorted((str(u), r) for u, r in roles) == sorted((u, "owner") for u in owned)


def test_rows_the_previous_release_inserts_after_expand_land_in_a_personal_workspace(
    make_database: MakeDatabase,
) -> None:
    url = make_database(False)
    _seed_old_schema(url)
    migrate(url, phase=EXPAND)
    with psycopg.connect(url) as conn:
        # what the previous release does: a new user, then a document without a workspace
        (user_id,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO users (email, password_hash) VALUES ('cy@example.com', 'x') RETURNING id"
        ).fetchone()
        (blob_id,) = conn.execute("INSERT INTO document_blobs DEFAULT VALUES RETURNING id").fetchone()  # type: ignore[misc]
        (doc_id,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO documents (owner_id, blob_id, filename, title, content_type, size_bytes, sha256) "
            "VALUES (%s, %s, 'c.txt', 'C', 'text/plain', 1, %s) RETURNING id",
            (user_id, blob_id, b"c" * 32),
        ).fetchone()
        (lonely,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO users (email, password_hash) VALUES ('dee@example.com', 'x') RETURNING id"
        ).fetchone()
    assert _personal_workspace_of_each_document(url)[str(doc_id)] == str(user_id)
    migrate(url, phase=CONTRACT)
    with psycopg.connect(url) as conn:
        nullable = conn.execute(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_name = 'documents' AND column_name = 'workspace_id'"
        ).fetchone()
        personal = conn.execute(
            "SELECT count(*) FROM workspaces WHERE personal_of = %s", (lonely,)
        ).fetchone()
        missing = conn.execute(
            "SELECT count(*) FROM documents d JOIN workspaces w ON w.id = d.workspace_id "
            "WHERE w.personal_of IS DISTINCT FROM d.owner_id"
        ).fetchone()
    assert nullable == ("NO",)
    assert personal == (1,), "contract gives a personal workspace to users the old release registered"
    assert missing == (0,)


def test_cli_phase_expand_then_contract(make_database: MakeDatabase) -> None:
    url = make_database(False)
    expand = run_migrate("--phase", "expand", database_url=url)
    assert expand.returncode == 0, expand.stderr
    assert "contract steps wait for the post-upgrade hook" in expand.stdout
    assert "(contract)" not in expand.stdout
    status = run_migrate("--status", database_url=url)
    assert status.returncode == 3
    assert "pending   contract" in status.stdout
    contract = run_migrate("--phase", "contract", database_url=url)
    assert contract.returncode == 0, contract.stderr
    assert "(contract)" in contract.stdout
    bad = run_migrate("--phase", "sideways", database_url=url)
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr

"""The S3 target, against moto's S3-protocol server on loopback (a stand-in for S3 or MinIO, not AWS)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docket_worker.backup.naming import backup_name

MakeDatabase = Callable[[bool], str]
PREFIX = "nightly/docket"


def _s3_env(
    kit: Any, database_url: str, folder: Path, endpoint: str, bucket: str, **extra: str
) -> dict[str, str]:
    return kit.env(
        database_url, folder, BACKUP_S3_URL=f"s3://{bucket}/{PREFIX}", BACKUP_S3_ENDPOINT=endpoint,
        BACKUP_S3_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", **extra,
    )  # fmt: skip


def _objects(client: Any, bucket: str) -> dict[str, int]:
    return {o.object_name: o.size for o in client.list_objects(bucket, prefix=f"{PREFIX}/", recursive=True)}


def _put(client: Any, bucket: str, file: str, data: bytes) -> None:
    client.put_object(bucket, f"{PREFIX}/{file}", io.BytesIO(data), len(data))


def test_a_run_copies_the_backup_to_s3_and_it_verifies_and_restores_from_there(
    kit: Any, small: Any, make_database: MakeDatabase, s3_endpoint: str, s3_bucket: Any, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    env = _s3_env(kit, small.url, tmp_path / "pvc", s3_endpoint, bucket)
    run = kit.run("backup", "run", env=env)
    assert run.returncode == 0, run.stderr

    local = {p.name: p.stat().st_size for p in (tmp_path / "pvc").iterdir()}
    remote = {name.removeprefix(f"{PREFIX}/"): size for name, size in _objects(client, bucket).items()}
    assert remote == local
    assert len(remote) == 3  # dump, checksum, manifest

    listing = kit.run("backup", "list", "--from", "s3", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "1 backup(s)" in listing.stdout
    assert f"s3://{bucket}/{PREFIX}" in listing.stdout

    verify = kit.run("backup", "verify", "--latest", "--from", "s3", "--restore-test", env=env)
    assert verify.returncode == 0, verify.stderr
    [marker] = [name for name in _objects(client, bucket) if name.endswith(".verified.json")]
    assert json.loads(client.get_object(bucket, marker).read())["ok"] is True

    target = make_database(False)
    restore = kit.run("restore", "--latest", "--from", "s3", "--target-url", target, "--yes", env=env)
    assert restore.returncode == 0, restore.stderr
    assert kit.counts(target) == kit.counts(small.url)
    assert kit.blob_sha256(target) == small.blob_sha256
    assert [p.name for p in (tmp_path / "pvc").iterdir() if p.name.startswith(".scratch")] == []


def test_a_run_prunes_the_bucket_by_the_same_policy_and_clears_its_debris(
    kit: Any, small: Any, s3_endpoint: str, s3_bucket: Any, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    now = dt.datetime.now(dt.UTC)
    old = backup_name(now - dt.timedelta(days=45))
    recent = backup_name(now - dt.timedelta(days=2))
    for name in (old, recent):
        for suffix in (".dump", ".dump.sha256", ".manifest.json"):
            _put(client, bucket, name + suffix, b"x")
    orphan = backup_name(now - dt.timedelta(days=1)) + ".manifest.json"
    _put(client, bucket, orphan, b"{}")
    _put(client, bucket, "notes.txt", b"not ours")

    env = _s3_env(kit, small.url, tmp_path, s3_endpoint, bucket, BACKUP_KEEP_MIN="1")
    run = kit.run("backup", "run", env=env)
    assert run.returncode == 0, run.stderr

    left = {name.removeprefix(f"{PREFIX}/") for name in _objects(client, bucket)}
    assert not any(name.startswith(old) for name in left)
    assert orphan not in left
    assert {f"{recent}.dump", "notes.txt"} <= left
    assert len([name for name in left if name.endswith(".dump")]) == 2


def test_s3_credentials_can_come_from_a_mounted_secret_and_a_broken_one_is_named(
    kit: Any, small: Any, s3_endpoint: str, s3_bucket: Any, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    secret = tmp_path / "secret"
    secret.mkdir()
    env = kit.env(
        small.url, tmp_path / "pvc", BACKUP_S3_URL=f"s3://{bucket}/{PREFIX}", BACKUP_S3_ENDPOINT=s3_endpoint,
        BACKUP_S3_CREDENTIALS_DIR=str(secret),
    )  # fmt: skip
    broken = kit.run("backup", "run", env=env)
    assert broken.returncode == 1
    assert "AWS_ACCESS_KEY_ID" in broken.stderr
    assert not (tmp_path / "pvc").exists() or not list((tmp_path / "pvc").glob("docket-*"))

    (secret / "AWS_ACCESS_KEY_ID").write_text("test\n")
    (secret / "AWS_SECRET_ACCESS_KEY").write_text("test\n")
    working = kit.run("backup", "run", env=env)
    assert working.returncode == 0, working.stderr
    assert len([n for n in _objects(client, bucket) if n.endswith(".dump")]) == 1

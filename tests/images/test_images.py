"""The api, worker and web images: small, non-root, read-only, and they start, serve and stop cleanly.

The containers run against the session's real PostgreSQL and Redis over the host's loopback. Sizes and
start-to-ready times are printed at the end of the run against their targets; they are never asserted.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apikit import bearer, register_and_login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SERVICES = ("api", "worker", "web")

# Run inside each image by its venv's python: what the runtime must and must not hold.
INSPECT_IMAGE = r"""
import importlib.util, json, os, shutil, subprocess, sys
service = sys.argv[1]
module = __import__(f"docket_{service}")
report = {
    "uid": os.getuid(),
    "build_tools": [t for t in ("gcc", "cc", "make", "strip", "ld", "pip", "pip3", "uv", "hatchling")
                    if shutil.which(t)],
    "importable_build_modules": [m for m in ("pip", "hatchling", "setuptools")
                                 if importlib.util.find_spec(m)],
    "precompiled": os.path.exists(importlib.util.cache_from_source(module.__file__)),
    "tini": os.access("/usr/local/bin/tini", os.X_OK),
    "root_writable": os.access("/", os.W_OK) or os.access("/opt/venv", os.W_OK),
    "tmp_writable": os.access("/tmp", os.W_OK),
    "pg": {},
}
for name, tool in (("PG_DUMP", "pg_dump"), ("PG_RESTORE", "pg_restore"), ("PSQL", "psql")):
    path = os.environ.get(name) or shutil.which(tool)
    if path:
        out = subprocess.run([path, "--version"], capture_output=True, text=True)
        report["pg"][tool] = {"path": path, "on_path": shutil.which(tool), "version": out.stdout.strip()}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def image_database(kit: Any, make_database: Callable[[bool], str]) -> dict[str, Any]:
    """A fresh, empty database migrated by `docket-api migrate` in the api image."""
    url = make_database(False)
    started = time.monotonic()
    status, output = kit.run_once("api", ["migrate"], {"DATABASE_URL": url, "ENVIRONMENT": "test"})
    return {"url": url, "status": status, "output": output, "seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def stack(kit: Any, image_database: dict[str, Any], redis_url: str) -> Iterator[dict[str, Any]]:
    """api, worker and web containers, started in turn, each ready, on the database the image migrated."""
    if image_database["status"] != 0:
        pytest.fail(f"the api image could not migrate the database:\n{image_database['output']}")
    url = image_database["url"]
    api_env = kit.container_env("api", kit.free_port(), url, redis_url)
    with kit.run_service("api", api_env) as api:
        worker_env = kit.container_env("worker", kit.free_port(), url, redis_url)
        with kit.run_service("worker", worker_env) as worker:
            web_env = kit.container_env("web", kit.free_port(), url, redis_url, API_URL=api.url)
            with kit.run_service("web", web_env) as web:
                running = {"api": api, "worker": worker, "web": web}
                for service, container in running.items():
                    kit.record(service, ready_seconds=round(container.ready_seconds, 2))
                yield running


# ---- what the images are ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_as_uid_10001_under_tini_with_labels_a_healthcheck_and_no_build_tools(
    service: str, kit: Any, images: dict[str, Any], image_sizes: dict[str, dict[str, float | None]]
) -> None:
    config = images[service].attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/usr/local/bin/tini", "--", f"/opt/venv/bin/docket-{service}"]
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "/opt/venv/bin/python"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    labels = config["Labels"] or {}
    for key in ("source", "revision", "version", "created"):
        assert f"org.opencontainers.image.{key}" in labels, key

    status, output = kit.run_once(
        service, ["-c", INSPECT_IMAGE, service], {}, entrypoint=["/opt/venv/bin/python"]
    )
    assert status == 0, output
    inside = json.loads(output.strip().splitlines()[-1])
    assert inside["uid"] == 10001
    assert inside["build_tools"] == [], "compilers and build tools stay in the builder stage"
    assert inside["importable_build_modules"] == []
    assert inside["precompiled"], "byte-code is compiled at build time"
    assert inside["tini"]
    assert not inside["root_writable"]
    assert inside["tmp_writable"]
    if service == "worker":
        for tool in ("pg_dump", "pg_restore", "psql"):
            assert "(PostgreSQL) 18" in inside["pg"][tool]["version"], inside["pg"]
            assert inside["pg"][tool]["on_path"], f"{tool} is on PATH"
        assert inside["pg"]["pg_dump"]["path"] == "/opt/pgclient/bin/pg_dump"

    sizes = image_sizes[service]
    over = sizes["over_base_mb"]
    print(
        f"docket-{service}: {sizes['size_mb']:.1f} MB, own layers "
        + (f"{over:.1f} MB" if over is not None else "n/a")
        + f" over the base (target <= {kit.target_mb_over_base} MB)"
    )


def test_api_image_migrates_a_fresh_database(kit: Any, image_database: dict[str, Any]) -> None:
    assert image_database["status"] == 0, image_database["output"]
    assert re.search(r"applied [1-9]\d* migration\(s\)", image_database["output"]), image_database["output"]
    status, output = kit.run_once("api", ["migrate", "--status"], {"DATABASE_URL": image_database["url"]})
    assert status == 0, output
    assert "schema is current" in output


# ---- running them ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_container_is_ready_on_a_read_only_root_and_its_healthcheck_passes(
    service: str, kit: Any, stack: dict[str, Any], images: dict[str, Any]
) -> None:
    running = stack[service]
    assert httpx.get(f"{running.url}/readyz", timeout=5).status_code == 200
    attrs = running.container.get_wrapped_container().attrs
    assert attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert attrs["Config"]["User"] == "10001:10001"
    healthcheck = images[service].attrs["Config"]["Healthcheck"]["Test"][1:]
    result = running.container.exec(healthcheck)
    assert result.exit_code == 0, result.output
    print(
        f"docket-{service}: docker run -> /readyz 200 in {running.ready_seconds:.2f} s "
        f"(target <= {kit.target_ready_seconds:g} s)"
    )


def test_api_container_registers_and_logs_in(stack: dict[str, Any]) -> None:
    with httpx.Client(base_url=stack["api"].url, timeout=10) as client:
        tokens = register_and_login(client, email=f"image-{uuid.uuid4().hex[:8]}@example.com")
        assert tokens["access_token"]


def test_web_container_reaches_the_api_container(stack: dict[str, Any]) -> None:
    response = httpx.get(f"{stack['web'].url}/", timeout=10, follow_redirects=True)
    assert response.status_code == 200, response.text[:500]


def test_upload_through_the_api_container_is_processed_to_ready_by_the_worker_container(
    stack: dict[str, Any],
) -> None:
    api = stack["api"]
    spec = httpx.get(f"{api.url}/api/openapi.json", timeout=10)
    assert spec.status_code == 200
    paths = spec.json().get("paths", {})
    if not any("post" in paths.get(p, {}) for p in ("/api/v1/documents", "/api/v1/documents/")):
        pytest.skip("uploads are not built yet: the API's OpenAPI spec has no POST /api/v1/documents")
    with httpx.Client(base_url=api.url, timeout=20) as client:
        tokens = register_and_login(client, email=f"upload-{uuid.uuid4().hex[:8]}@example.com")
        auth = bearer(tokens["access_token"])
        body = f"Docket image smoke test {uuid.uuid4()}\n".encode()
        created = client.post(
            "/api/v1/documents", headers=auth, files={"file": ("smoke.txt", body, "text/plain")}
        )
        assert created.status_code == 201, created.text
        document_id = created.json()["id"]
        deadline = time.monotonic() + 60
        status = created.json().get("status")
        while status not in ("ready", "failed") and time.monotonic() < deadline:
            time.sleep(0.25)
            status = client.get(f"/api/v1/documents/{document_id}", headers=auth).json().get("status")
    assert status == "ready", f"document {document_id} is {status!r}\nworker:\n{stack['worker'].logs()}"


def test_worker_image_backs_up_into_a_mounted_directory_and_verifies_it(
    kit: Any, image_database: dict[str, Any], tmp_path: Path
) -> None:
    _, usage = kit.run_once("worker", ["backup", "--help"], {})
    commands = re.search(r"\{([a-z,\-]+)\}", usage)
    listed = set(commands.group(1).split(",")) if commands else set()
    if not {"run", "verify"} <= listed:
        pytest.skip(
            f"`docket-worker backup --help` does not list run and verify yet ({usage.strip()[:200]!r})"
        )
    backups = tmp_path / "backups"
    backups.mkdir()
    if os.geteuid() == 0:
        os.chown(backups, 10001, 10001)
    else:
        backups.chmod(0o777)
    env = {"DATABASE_URL": image_database["url"], "BACKUP_DIR": "/backups", "LOG_LEVEL": "INFO"}
    volumes = [(str(backups), "/backups", "rw")]
    status, output = kit.run_once("worker", ["backup", "run"], env, volumes=volumes, timeout=300)
    assert status == 0, output
    assert any(backups.iterdir()), f"nothing written to the mounted directory:\n{output}"
    _, verify_usage = kit.run_once("worker", ["backup", "verify", "--help"], {})
    verify = ["backup", "verify", "--latest"] if "--latest" in verify_usage else ["backup", "verify"]
    status, output = kit.run_once("worker", verify, env, volumes=volumes, timeout=300)
    assert status == 0, output


@pytest.mark.parametrize("service", SERVICES)
def test_sigterm_stops_the_container_with_status_0_within_the_grace_period(
    service: str, kit: Any, stack: dict[str, Any], image_database: dict[str, Any], redis_url: str
) -> None:
    extra = {"API_URL": stack["api"].url} if service == "web" else {}  # the web is ready once the API is
    env = kit.container_env(service, kit.free_port(), image_database["url"], redis_url, **extra)
    with kit.run_service(service, env) as running:
        wrapped = running.container.get_wrapped_container()
        limit = kit.grace_seconds + 7  # docker stop's timeout: SIGTERM, then SIGKILL after this long
        started = time.monotonic()
        wrapped.stop(timeout=limit)
        took = time.monotonic() - started
        wrapped.reload()
        state = wrapped.attrs["State"]
        kit.record(service, stop_seconds=round(took, 2))
        assert state["ExitCode"] == 0, f"exit {state['ExitCode']} after {took:.1f} s:\n{running.logs()}"
        assert not state["OOMKilled"]
        assert took < limit, f"SIGTERM did not stop it; docker killed it after {took:.1f} s"

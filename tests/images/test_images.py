"""The api, worker and web images: small, non-root, read-only, and they start, serve and stop cleanly.

The containers run against the session's real PostgreSQL and Redis over the host's loopback. Each image's
size over its base is held to its budget (IMAGE_BUDGETS_MB in conftest.py, with what the worker's parts
weigh); start-to-ready times are printed at the end of the run against their target, never asserted.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from apikit import bearer, register_and_login
from scan_samples import png_scan

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SERVICES = ("api", "worker", "web")
IMAGES = (*SERVICES, "worker-slim")

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
# Docket's own code keeps its source (tracebacks and Sentry show its lines) next to its byte-code
report["own_source"] = module.__file__.endswith(".py") and os.path.exists(module.__file__)
# every docket module imports (nothing needs a package the image removed)
import pkgutil
report["import_failures"] = []
for top in ("docket_core", f"docket_{service}"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            report["import_failures"].append(f"{info.name}: {exc!r}")
# litestar's CLI and test helpers' dependencies, removed from the image
report["removed_present"] = [m for m in ("faker", "polyfactory", "rich", "rich_click", "pygments",
                                         "markdown_it", "mdurl", "colorama") if importlib.util.find_spec(m)]
# third-party code ships as byte-code only, but for the files read as source at run time
site = os.path.dirname(os.path.dirname(module.__file__))
kept = ("docket_", "anyio/__init__.py", "anyio/abc/__init__.py", "Crypto/SelfTest/")
sources = [os.path.relpath(os.path.join(d, f), site) for d, _, files in os.walk(site) for f in files]
report["third_party_source"] = sorted(s for s in sources if s.endswith(".py") and not s.startswith(kept))[:10]
# and no byte-code cache beside it (a module imported during the build would leave one: twice the bytes)
report["third_party_caches"] = sorted(os.path.relpath(d, site) for d, _, _ in os.walk(site)
                                      if d.endswith("__pycache__") and not d.startswith(
                                          tuple(os.path.join(site, k) for k in ("docket_", "anyio/"))))[:10]
report["litestar_origin"] = importlib.util.find_spec("litestar").origin
import anyio, inspect
report["anyio_source"] = bool(inspect.getsourcefile(anyio))
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
    service: str, kit: Any, images: dict[str, Any]
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
    assert inside["own_source"], "Docket's packages keep their .py for tracebacks"
    assert inside["import_failures"] == []
    assert inside["removed_present"] == [], "litestar's CLI and test helpers' dependencies are removed"
    assert inside["third_party_source"] == [], "third-party code ships as byte-code only"
    assert inside["third_party_caches"] == [], "third-party byte-code is compiled once, beside the module"
    assert inside["litestar_origin"].endswith("/litestar/__init__.pyc")
    assert inside["anyio_source"], "anyio reads its __init__.py with inspect.getsource: it must stay"
    assert not inside["root_writable"]
    assert inside["tmp_writable"]
    if service == "worker":
        for tool in ("pg_dump", "pg_restore", "psql"):
            assert "(PostgreSQL) 18" in inside["pg"][tool]["version"], inside["pg"]
            assert inside["pg"][tool]["on_path"], f"{tool} is on PATH"
        assert inside["pg"]["pg_dump"]["path"] == "/opt/pgclient/bin/pg_dump"


@pytest.mark.parametrize("name", IMAGES)
def test_each_image_stays_within_its_size_budget(
    name: str, kit: Any, image_sizes: dict[str, dict[str, float | None]]
) -> None:
    """The budgets, and what each part of the worker's weighs, are in tests/images/conftest.py."""
    sizes = image_sizes[name]
    over = sizes["over_base_mb"]
    if over is None:
        pytest.skip(f"the base of {name} is not here to measure against (see its base.name label)")
    assert over <= kit.budgets_mb[name], (
        f"{name}: its own layers are {over:.1f} MB over the base, over its budget of "
        f"{kit.budgets_mb[name]} MB; `docker history` shows which layer grew"
    )


# Run inside the worker images: what OCR finds there, and what the settings make of it.
INSPECT_OCR = r"""
import json, os, shutil
from docket_core.settings import load_settings
from docket_worker.processing.ocr import library_found
from docket_worker.settings import WorkerSettings
tessdata = "/usr/share/tesseract-ocr/5/tessdata"
settings = load_settings(WorkerSettings, {"ENVIRONMENT": "test"})
print(json.dumps({
    "library": library_found(),
    "ocr_on": settings.ocr_options() is not None,
    "languages": sorted(f for f in os.listdir(tessdata) if f.endswith(".traineddata"))
                 if os.path.isdir(tessdata) else [],
    "program": shutil.which("tesseract"),
}))
"""


def test_worker_image_has_libtesseract_with_english_and_the_slim_one_has_no_ocr(kit: Any) -> None:
    found = {}
    for name in ("worker", "worker-slim"):
        status, output = kit.run_once(name, ["-c", INSPECT_OCR], {}, entrypoint=["/opt/venv/bin/python"])
        assert status == 0, output
        found[name] = json.loads(output.strip().splitlines()[-1])
    assert found["worker"] == {
        "library": True,
        "ocr_on": True,  # OCR_ENABLED unset: on, since the library is there
        "languages": ["eng.traineddata"],  # no osd model, no other language unless built with one
        "program": None,  # the library only; the child never starts a program
    }
    assert found["worker-slim"] == {"library": False, "ocr_on": False, "languages": [], "program": None}


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
    assert httpx.get(f"{running.management_url}/readyz", timeout=5).status_code == 200
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
    assert response.headers["content-type"].startswith("text/html")
    assert "</html>" in response.text.lower(), "a page rendered from the Jinja templates"


def test_api_container_builds_its_openapi_schema(stack: dict[str, Any]) -> None:
    response = httpx.get(f"{stack['api'].url}/api/openapi.json", timeout=10)
    assert response.status_code == 200, response.text[:500]
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert spec["paths"]
    assert spec["components"]["schemas"]


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


def test_a_scanned_png_is_read_by_the_worker_containers_tesseract_and_found_by_search(
    stack: dict[str, Any],
) -> None:
    """The image's OCR works with what it holds: libtesseract and the English data, nothing more."""
    word = "marmalade"
    scan = png_scan([f"The {word} inventory for winter", "counted twice by the pantry team"])
    with httpx.Client(base_url=stack["api"].url, timeout=20) as client:
        auth = bearer(
            register_and_login(client, email=f"scan-{uuid.uuid4().hex[:8]}@example.com")["access_token"]
        )
        created = client.post(
            "/api/v1/documents", headers=auth, files={"file": ("scan.png", scan, "image/png")}
        )
        assert created.status_code == 201, created.text
        document_id = created.json()["id"]
        deadline = time.monotonic() + 90
        document = created.json()
        while document["status"] not in ("ready", "failed") and time.monotonic() < deadline:
            time.sleep(0.25)
            document = client.get(f"/api/v1/documents/{document_id}", headers=auth).json()
        assert document["status"] == "ready", f"{document}\nworker:\n{stack['worker'].logs()}"
        hits = client.get("/api/v1/search", headers=auth, params={"q": word}).json()["items"]
    assert [hit["id"] for hit in hits] == [document_id]


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


# Run inside the worker image: which libpq pg_dump loads (the dynamic loader says), and its version.
LOADED_LIBPQ = r"""
import ctypes, json, os, re, subprocess, psycopg
run = subprocess.run([os.environ["PG_DUMP"], "--version"], capture_output=True, text=True,
                     env={**os.environ, "LD_DEBUG": "libs"})
paths = re.findall(r"calling init: (\S*/libpq[^/\s]*)", run.stderr)
path = paths[0] if paths else ""
version = ctypes.CDLL(path).PQlibVersion() if path else 0
print(json.dumps({"path": path, "real": os.path.realpath(path) if path else "", "version": version,
                  "psycopg": psycopg.pq.version(), "pg_dump": run.stdout.strip()}))
"""


def test_worker_image_pg_client_supports_ssl_and_still_dumps_without_it(
    kit: Any, image_database: dict[str, Any]
) -> None:
    status, output = kit.run_once("worker", ["-c", LOADED_LIBPQ], {}, entrypoint=["/opt/venv/bin/python"])
    assert status == 0, output
    libpq = json.loads(output.strip().splitlines()[-1])
    assert "/psycopg_binary.libs/libpq" in libpq["real"], libpq
    assert libpq["version"] == libpq["psycopg"], libpq
    assert libpq["version"] >= 180000, libpq
    version = f"{libpq['version'] // 10000}.{libpq['version'] % 10000}"
    kit.record("worker", libpq=version)
    print(f"docket-worker: {libpq['pg_dump']} loads libpq {version} from {libpq['real']}")

    params = psycopg.conninfo.conninfo_to_dict(image_database["url"])
    password = params.pop("password", None)
    env = {"PGPASSWORD": str(password)} if password else {}
    assert params.get("host") in ("127.0.0.1", "localhost"), params

    def conninfo(sslmode: str) -> str:
        return psycopg.conninfo.make_conninfo(**params, sslmode=sslmode)  # type: ignore[arg-type]

    # The test server has no SSL. A client built with SSL asks for it and the server says no; a client
    # built without it rejects sslmode=require before connecting ("... SSL support is not compiled in").
    for tool, args in (("pg_dump", ["--schema-only"]), ("psql", ["-X", "-c", "select 1"])):
        status, output = kit.run_once(
            "worker", [*args, conninfo("require")], env, entrypoint=[f"/opt/pgclient/bin/{tool}"]
        )
        assert status != 0, output
        assert "not compiled in" not in output, output
        assert "server does not support SSL" in output, output
    for sslmode in ("disable", "prefer"):
        status, output = kit.run_once(
            "worker", ["--schema-only", conninfo(sslmode)], env, entrypoint=["/opt/pgclient/bin/pg_dump"]
        )
        assert status == 0, output
        assert "PostgreSQL database dump complete" in output, output


# ---- TLS for real: a stand-in PostgreSQL that speaks only TLS -----------------------------------------

TLS_MARKER = "docket-tls-probe: TLS session established"
SSL_REQUEST_CODE = 80877103


def _self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own root) and its key, as PEM files in ``directory``."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, f"docket {name}")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.chmod(0o644)
    return cert_path, key_path


def _postgres_error(message: str) -> bytes:
    fields = b"SFATAL\0VFATAL\0C28000\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(data)} of {size} bytes")
        data += chunk
    return data


@contextlib.contextmanager
def tls_only_postgres(cert: Path, key: Path) -> Iterator[tuple[int, list[str]]]:
    """A stand-in PostgreSQL on 127.0.0.1 that accepts only TLS (SSLRequest, then the handshake); it reads
    the startup packet over TLS and answers FATAL with TLS_MARKER. Yields its port and what it saw."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["postgresql"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(10)
                try:
                    _, code = struct.unpack("!ii", _read_exactly(connection, 8))
                    if code != SSL_REQUEST_CODE:
                        seen.append(f"plaintext request {code}")
                        connection.sendall(_postgres_error("this server accepts TLS only"))
                        continue
                    connection.sendall(b"S")
                    with context.wrap_socket(connection, server_side=True) as tls:
                        (length,) = struct.unpack("!i", _read_exactly(tls, 4))
                        _read_exactly(tls, length - 4)
                        seen.append(f"startup over {tls.version()}")
                        tls.sendall(_postgres_error(TLS_MARKER))
                except (OSError, struct.error) as exc:  # ssl.SSLError is an OSError
                    seen.append(f"failed: {exc!r}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_worker_image_pg_client_completes_a_tls_handshake_and_verifies_the_server(
    kit: Any, tmp_path: Path
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    certs.chmod(0o755)
    cert, key = _self_signed_certificate(certs, "server")
    other, _ = _self_signed_certificate(certs, "other")
    volumes = [(str(certs), "/certs", "ro")]
    with tls_only_postgres(cert, key) as (port, seen):
        base = f"host=127.0.0.1 port={port} dbname=docket user=docket connect_timeout=10"
        cases = {
            "require": (f"{base} sslmode=require", TLS_MARKER),
            "verify-full": (f"{base} sslmode=verify-full sslrootcert=/certs/{cert.name}", TLS_MARKER),
            "verify-full, another root": (
                f"{base} sslmode=verify-full sslrootcert=/certs/{other.name}",
                "certificate verify failed",
            ),
        }
        for case, (conninfo, expected) in cases.items():
            status, output = kit.run_once(
                "worker",
                ["--schema-only", conninfo],
                {},
                volumes=volumes,
                entrypoint=["/opt/pgclient/bin/pg_dump"],
            )
            assert status != 0, output
            assert expected in output, f"{case}: {output}\nserver saw: {seen}"
    assert sum(entry.startswith("startup over TLSv1.") for entry in seen) == 2, seen

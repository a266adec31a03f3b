"""The image tests' fixtures: a Docker engine, the three images, and containers run as the charts run them.

Every container runs on the host network (the session's PostgreSQL and Redis listen on 127.0.0.1), with a
read-only root filesystem, a tmpfs at /tmp, uid 10001, no capabilities and no-new-privileges. The images
are built by `make images` (CI runs it before the suite); when one is missing the tests build them once
through that target. Without a Docker engine every test here is skipped, and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from apikit import TEST_SECRET
from embedded_services import free_port

ROOT = Path(__file__).resolve().parents[2]
TAG = os.environ.get("DOCKET_IMAGE_TAG", "dev")
SERVICES = ("api", "worker", "web")
# the images `make images` builds: the three services, and the worker without Tesseract (WITH_OCR=false)
IMAGES = (*SERVICES, "worker-slim")
COMMANDS = {"api": ["serve"], "worker": ["run"], "web": ["serve"]}
GRACE_SECONDS = 3
READY_TIMEOUT = 45.0
# What each image's own layers may add over its base, in MB (10^6 bytes, as docker counts), asserted by
# test_each_image_stays_within_its_size_budget. Measured on 2026-11-30 over docket-local/python-base:
# bookworm (MB): api 37.7, web 50.2 (their venvs; 60 was the budget of all three before the formats).
# The worker, 142.6 over the base, in three parts:
#   46.2  what it was before: its venv (44.8) and the PostgreSQL client (1.4);
#   38.6  the wheels that read documents and draw thumbnails: Pillow 12.4 (its bundled image libraries
#         9.5, without the AVIF codec the Dockerfile removes), lxml 11.7 (python-docx and python-pptx
#         parse with it), pypdfium2 7.3 (renders PDF pages), python-docx 2.1, python-pptx 1.9,
#         openpyxl 1.7, XlsxWriter 1.0 (python-pptx needs it), odfpy 0.7, charset-normalizer 0.6;
#   57.7  OCR (the apt layer): libtesseract5 3.5, English data (tesseract-ocr-eng) 4.0, Leptonica 2.8
#         and its image libraries 4.0 (libtiff, libjpeg, libwebp, libopenjp2, libpng, libgif, liblerc,
#         libjbig, libdeflate), libarchive 0.9 -> libxml2 1.9 -> libicu72 36.2 (ICU's data alone is
#         30 MB: the largest part, and one that only Debian's libxml2 build brings), libcurl and its
#         protocol libraries 2.5, libgomp 0.3; dpkg's records. Not installed: the `tesseract` program
#         and its text renderer (Pango, Cairo, HarfBuzz, GLib, X11, fonts: 36 MB), the orientation
#         model tesseract-ocr-osd (10 MB), apt's caches (75 MB), documentation and manual pages.
# The slim worker (--build-arg WITH_OCR=false) is the first two parts: 84.8.
IMAGE_BUDGETS_MB = {"api": 60, "web": 60, "worker": 150, "worker-slim": 92}
TARGET_READY_SECONDS = 3.0
BUILD_TIMEOUT = 1500

# what the tests measured, printed at the end of the run (and written to tests/artifacts/images.json)
REPORT: dict[str, dict[str, Any]] = {}


def image_name(service: str) -> str:
    if service == "worker-slim":
        return f"docket-worker:{TAG}-slim"
    return f"docket-{service}:{TAG}"


def record(service: str, **values: Any) -> None:
    REPORT.setdefault(service, {}).update(values)


@pytest.fixture(scope="session")
def docker_client() -> Any:
    """A client of a Docker engine that answers, or a skip that says there is none."""
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # any failure to reach the engine means: no engine here
        pytest.skip(
            f"no Docker engine reachable ({type(exc).__name__}); the image tests need one: "
            "bash ../shared/tools/docker-up.sh starts it"
        )
    return client


@pytest.fixture(scope="session")
def images(docker_client: Any) -> dict[str, Any]:
    """The images (the three, and the slim worker); built once through `make images` when one is missing."""
    import docker

    def present() -> list[str]:
        found = []
        for service in IMAGES:
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.get(image_name(service))
                found.append(service)
        return found

    if len(present()) < len(IMAGES):
        started = time.monotonic()
        result = subprocess.run(
            ["make", "images", f"IMAGE_TAG={TAG}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"`make images` failed (BASE_IMAGE={os.environ.get('BASE_IMAGE', '<default>')}; where no "
                "registry is reachable, export BASE_IMAGE=$(bash ../shared/tools/local-base-image.sh | "
                "tail -n 1) first):\n" + (result.stdout + result.stderr)[-4000:]
            )
        REPORT.setdefault("_build", {})["seconds"] = round(time.monotonic() - started, 1)
    return {service: docker_client.images.get(image_name(service)) for service in IMAGES}


@pytest.fixture(scope="session")
def image_sizes(docker_client: Any, images: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Each image's size, and what its own layers add over the base named in its labels."""
    import docker

    sizes: dict[str, dict[str, float | None]] = {}
    for service, image in images.items():
        total = image.attrs["Size"]
        base_name = (image.labels or {}).get("org.opencontainers.image.base.name", "")
        over_base: float | None = None
        with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
            if base_name:
                over_base = (total - docker_client.images.get(base_name).attrs["Size"]) / 1e6
        sizes[service] = {"size_mb": total / 1e6, "over_base_mb": over_base}
        revision = (image.labels or {}).get("org.opencontainers.image.revision", "")
        record(service, image=image_name(service), base=base_name or "?", revision=revision, **sizes[service])
    return sizes


def container_env(service: str, port: int, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment a service container gets in these tests."""
    env = {
        "ENVIRONMENT": "test",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "4",
    }
    if service == "api":
        env |= {"JWT_SECRET": TEST_SECRET, "RATE_LIMIT_ANONYMOUS": "10000", "RATE_LIMIT_USER": "10000"}
    if service == "worker":
        env |= {"WORKER_POLL_INTERVAL_SECONDS": "0.5"}
    else:  # the api's and the web's probes answer on a port of their own
        env |= {"MANAGEMENT_PORT": str(free_port())}
    return env | extra


def hardened(
    image: str,
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    volumes: Sequence[tuple[str, str, str]] = (),
    entrypoint: Sequence[str] | None = None,
) -> Any:
    """A testcontainers container run the way the Helm charts run the service."""
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image).with_command(list(command)).with_tmpfs_mount("/tmp")
    for key, value in env.items():
        container.with_env(key, value)
    for host, path, mode in volumes:
        container.with_volume_mapping(host, path, mode)
    options: dict[str, Any] = {
        "network_mode": "host",
        "read_only": True,
        "user": "10001:10001",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
    }
    if entrypoint is not None:
        options["entrypoint"] = list(entrypoint)
    return container.with_kwargs(**options)


def logs_of(container: Any) -> str:
    with contextlib.suppress(Exception):
        return bytes(container.get_wrapped_container().logs()).decode(errors="replace")[-4000:]
    return "<no logs>"


def run_once(
    service: str,
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    volumes: Sequence[tuple[str, str, str]] = (),
    entrypoint: Sequence[str] | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """Run one command in a fresh container of ``service``'s image; return its status and output."""
    container = hardened(image_name(service), command, env, volumes=volumes, entrypoint=entrypoint)
    container.start()
    try:
        status = int(container.get_wrapped_container().wait(timeout=timeout)["StatusCode"])
        return status, logs_of(container)
    finally:
        container.stop()


@dataclass
class Running:
    """A service container that answered /readyz with 200."""

    service: str
    container: Any
    port: int
    management_port: int
    ready_seconds: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def management_url(self) -> str:
        """Where /healthz, /readyz and /metrics answer (the worker's only port)."""
        return f"http://127.0.0.1:{self.management_port}"

    def logs(self) -> str:
        return logs_of(self.container)


@contextlib.contextmanager
def run_service(service: str, env: Mapping[str, str]) -> Iterator[Running]:
    """Start ``service``'s image with its default command; yield once /readyz answers 200."""
    port = int(env["PORT"])
    management_port = int(env.get("MANAGEMENT_PORT") or port)
    container = hardened(image_name(service), COMMANDS[service], env)
    started = time.monotonic()
    container.start()
    try:
        ready = wait_ready(container, management_port, started)
        yield Running(service, container, port, management_port, ready)
    finally:
        container.stop()


def wait_ready(container: Any, port: int, started: float) -> float:
    """Seconds from `docker run` to the first 200 from /readyz; fails with the logs if it never comes."""
    wrapped = container.get_wrapped_container()
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - started
        wrapped.reload()
        if wrapped.status == "exited" or time.monotonic() - started > READY_TIMEOUT:
            pytest.fail(f"{wrapped.image.tags} never became ready ({wrapped.status}):\n{logs_of(container)}")
        time.sleep(0.05)


class Kit:
    """The helpers above, handed to the tests as the ``kit`` fixture."""

    grace_seconds = GRACE_SECONDS
    budgets_mb = IMAGE_BUDGETS_MB
    target_ready_seconds = TARGET_READY_SECONDS

    @staticmethod
    def free_port() -> int:
        return free_port()

    container_env = staticmethod(container_env)
    run_once = staticmethod(run_once)
    run_service = staticmethod(run_service)
    record = staticmethod(record)


@pytest.fixture(scope="session")
def kit(images: dict[str, Any]) -> Kit:
    """The container helpers, once the images exist."""
    return Kit()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print each image's size, its own layers over the base, and its start-to-ready time."""
    services = [s for s in IMAGES if s in REPORT]
    if not services:
        return
    terminalreporter.section("container images")
    for service in services:
        row = REPORT[service]
        over = row.get("over_base_mb")
        ready = row.get("ready_seconds")
        stop = row.get("stop_seconds")
        terminalreporter.write_line(
            f"{row.get('image', image_name(service)):<22} size {row.get('size_mb', 0):6.1f} MB"
            f"   own layers over {row.get('base', '?')}: "
            + (f"{over:5.1f} MB" if over is not None else "  n/a")
            + f" (budget <= {IMAGE_BUDGETS_MB[service]})"
            + "   docker run -> /readyz 200: "
            + (f"{ready:4.2f} s" if ready is not None else " n/a")
            + f" (target <= {TARGET_READY_SECONDS:g})"
            + ("   SIGTERM -> exit: " + f"{stop:4.2f} s" if stop is not None else "")
            + (f"   pg client libpq {row['libpq']}" if row.get("libpq") else "")
        )
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    stale = sorted({REPORT[s].get("revision", "") for s in services} - {head.stdout.strip()})
    if head.returncode == 0 and stale:
        terminalreporter.write_line(
            f"note: images built from commit {', '.join(r[:12] or '?' for r in stale)}, not HEAD "
            f"{head.stdout.strip()[:12]}; `make images` rebuilds them (uncommitted changes are not tracked)"
        )
    if "_build" in REPORT:
        terminalreporter.write_line(f"images built by the tests in {REPORT['_build']['seconds']} s")
    artifacts = ROOT / "tests" / "artifacts"
    with contextlib.suppress(OSError):
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "images.json").write_text(json.dumps(REPORT, indent=2, sort_keys=True) + "\n")

"""7. Images (when built): size, own layers over the base, and cold start to /readyz 200."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from bench.context import Context
from bench.procs import free_port
from bench.report import Section

SERVICES = (("api", "serve"), ("worker", "run"), ("web", "serve"))
READY_TIMEOUT = 60.0


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)


def _size(image: str) -> int | None:
    result = _docker("image", "inspect", "-f", "{{.Size}}", image)
    return int(result.stdout.strip()) if result.returncode == 0 else None


def _layers(image: str) -> list[str]:
    result = _docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", image)
    return json.loads(result.stdout) if result.returncode == 0 else []


def _base_of(image: str, fallback: str) -> str:
    """The base image named in the OCI label the Dockerfiles set, else ``fallback``."""
    label = "org.opencontainers.image.base.name"
    result = _docker("image", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', image)
    name = result.stdout.strip() if result.returncode == 0 else ""
    return name if name and name != "<no value>" else fallback


def _own_bytes(image: str, base: str) -> int | None:
    """Bytes the image adds over its base, when the base is present and really is its base."""
    base_layers, layers = _layers(base), _layers(image)
    size, base_size = _size(image), _size(base)
    if not base_layers or layers[: len(base_layers)] != base_layers or size is None or base_size is None:
        return None
    return size - base_size


def _cold_start(ctx: Context, image: str, command: str, api_url: str) -> float:
    port, management_port = free_port(), free_port()
    env = ctx.stack.env(
        {"PORT": str(port), "MANAGEMENT_PORT": str(management_port), "HOST": "127.0.0.1", "API_URL": api_url}
    )
    name = f"docket-bench-{port}"
    args = ["run", "-d", "--rm", "--name", name, "--network", "host"]
    for key in (
        "ENVIRONMENT",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "CSRF_SECRET",
        "PORT",
        "MANAGEMENT_PORT",
        "HOST",
        "API_URL",
    ):
        args += ["-e", f"{key}={env[key]}"]
    started = time.monotonic()
    result = _docker(*args, image, command)
    if result.returncode != 0:
        raise RuntimeError(f"docker run {image}: {result.stderr.strip()}")
    try:
        while time.monotonic() - started < READY_TIMEOUT:
            try:
                # the worker has no MANAGEMENT_PORT: its probes stay on PORT
                probe_port = port if command == "run" else management_port
                with urllib.request.urlopen(f"http://127.0.0.1:{probe_port}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.02)
        raise TimeoutError(f"{image} was not ready within {READY_TIMEOUT:g}s")
    finally:
        _docker("rm", "-f", name)


def run(ctx: Context) -> Section:
    section = Section("images")
    opts = ctx.options
    if not shutil.which("docker") or _docker("info").returncode != 0:
        section.skipped = "no Docker engine answers"
        return section
    if _size(f"docket-api:{opts.image_tag}") is None:
        section.skipped = (
            f"docket-api:{opts.image_tag} is not built (`make images`; --image-tag picks another tag)"
        )
        return section
    data: dict[str, Any] = {}
    api = ctx.stack.start_api(name="api-for-web-image")  # the web image is ready only when its API answers
    try:
        _measure_images(ctx, section, data, api.url())
    finally:
        ctx.stack.stop(api)
    section.data = data
    return section


def _measure_images(ctx: Context, section: Section, data: dict[str, Any], api_url: str) -> None:
    opts = ctx.options
    for service, command in SERVICES:
        image = f"docket-{service}:{opts.image_tag}"
        size = _size(image)
        if size is None:
            section.add(f"{service} image", "not built")
            continue
        base = _base_of(image, opts.base_image)
        own = _own_bytes(image, base)
        starts = sorted(_cold_start(ctx, image, command, api_url) for _ in range(opts.rounds))
        data[service] = {"size": size, "base": base, "own": own, "cold_start_s": starts}
        section.add(f"{service} image size", size / 1e6, "MB")
        if own is None:
            section.add(f"{service} over base", None, "MB", note=f"base {base} not present locally")
        else:
            section.check(f"{service} over base", own / 1e6, "MB", 60, at_most=True, note=f"over {base}")
        section.check(
            f"{service} cold start to /readyz",
            starts[len(starts) // 2],
            "s",
            3,
            at_most=True,
            note=f"median of {opts.rounds}, docker run → 200",
        )

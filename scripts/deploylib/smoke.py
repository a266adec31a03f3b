"""Post-deploy smoke checks through the ingress."""

from __future__ import annotations

import httpx


def smoke_problems(base_url: str, client: httpx.Client) -> list[str]:
    """Through the ingress: the probes are not public (they answer on each pod's management port only;
    the rollout check covers readiness), the API's OpenAPI document, and the web's pages."""
    problems = []
    checks = [("/readyz", 404), ("/metrics", 404), ("/api/openapi.json", 200), ("/", 200), ("/signin", 200)]
    for path, expected in checks:
        try:
            response = client.get(base_url.rstrip("/") + path, timeout=10)
        except httpx.HTTPError as exc:
            problems.append(f"GET {path}: {type(exc).__name__}: {exc}")
            continue
        if response.status_code != expected:
            problems.append(f"GET {path}: {response.status_code}, expected {expected}")
    return problems

"""Post-deploy smoke checks through the ingress."""

from __future__ import annotations

import httpx


def smoke_problems(base_url: str, client: httpx.Client) -> list[str]:
    """Readiness through the ingress (the web's /readyz also checks that it reaches the API),
    the API's OpenAPI document, and the sign-in page."""
    problems = []
    checks = [("/readyz", 200), ("/api/openapi.json", 200), ("/", 200)]
    for path, expected in checks:
        try:
            response = client.get(base_url.rstrip("/") + path, timeout=10)
        except httpx.HTTPError as exc:
            problems.append(f"GET {path}: {type(exc).__name__}: {exc}")
            continue
        if response.status_code != expected:
            problems.append(f"GET {path}: {response.status_code}, expected {expected}")
    return problems

#!/usr/bin/env python3
"""Checks the kind end-to-end job runs against a real cluster, through the ingress over HTTPS.

e2e_check.py smoke URL      register, upload, wait until ready, search
e2e_check.py burst URL      a burst at the API must meet 429 at the edge
e2e_check.py load URL FILE  request until SIGTERM, then write {"ok": n, "failed": m} to FILE
"""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid
from pathlib import Path

import httpx

PASSWORD = "e2e-password-long-enough"  # noqa: S105  # a throwaway account in a throwaway cluster


def _client(base: str) -> httpx.Client:
    # the dev ClusterIssuer's CA is not in the runner's trust store; TLS is still required
    return httpx.Client(base_url=base, verify=False, timeout=15)  # noqa: S501


def smoke(base: str) -> int:
    word = f"zephyr{uuid.uuid4().hex[:8]}"
    with _client(base) as client:
        email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
        assert (
            client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code
            == 201
        )
        tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
        client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        created = client.post(
            "/api/v1/documents", files={"file": ("e2e.md", f"# E2E\n\nthe {word} test".encode())}
        )
        assert created.status_code == 201, created.text
        doc_id = created.json()["id"]
        deadline = time.monotonic() + 120
        while (status := client.get(f"/api/v1/documents/{doc_id}").json()["status"]) not in (
            "ready",
            "failed",
        ):
            assert time.monotonic() < deadline, f"document still {status}"
            time.sleep(1)
        assert status == "ready", status
        hits = client.get("/api/v1/search", params={"q": word}).json()["items"]
        assert [hit["id"] for hit in hits] == [doc_id], hits
        assert client.get("/readyz").status_code == 200
    print(f"smoke: uploaded, processed and found {doc_id}")
    return 0


def burst(base: str) -> int:
    with _client(base) as client:
        statuses = [client.get("/api/openapi.json").status_code for _ in range(300)]
    limited = statuses.count(429)
    print(f"burst: {limited} of {len(statuses)} requests got 429 at the edge")
    return 0 if limited else 1


def load(base: str, out: str) -> int:
    counts = {"ok": 0, "failed": 0}
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    with _client(base) as client:
        while running:
            try:
                ok = (
                    client.get("/healthz").status_code == 200
                    and client.get("/api/openapi.json").status_code == 200
                )
            except httpx.HTTPError:
                ok = False
            counts["ok" if ok else "failed"] += 1
            time.sleep(0.2)  # stay under the edge rate limits: this measures availability
    Path(out).write_text(json.dumps(counts))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("smoke", "burst", "load"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "load":
        return load(argv[1], argv[2])
    return smoke(argv[1]) if argv[0] == "smoke" else burst(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

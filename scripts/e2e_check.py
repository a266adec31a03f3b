#!/usr/bin/env python3
"""Checks the kind end-to-end job runs against a real cluster, through the ingress over HTTPS.

e2e_check.py smoke URL                   register, upload, wait until ready, search, download
e2e_check.py burst URL                   a burst at the API must meet 429 at the edge, never from the API
e2e_check.py load URL FILE [--min-ok N]  request until SIGTERM, write {"ok": n, "failed": m} to FILE,
                                         and exit 1 if any request failed or fewer than N succeeded

Every check signs up an account of its own and sends everything after that with its token. The API
counts signed-in requests per user (RATE_LIMIT_USER) and anonymous ones per client address
(RATE_LIMIT_ANONYMOUS, 100 per 15 minutes). Every request the runner sends reaches the ingress from
the same address, so anonymous checks would share that one bucket: a burst, then a load run through
an upgrade, would leave a later smoke test nothing but 429s. Only the sign-up and sign-in (two
requests per check) stay anonymous.

The cluster rehearsal (tests/rehearsal, scenario 1) runs the same smoke run through its own edge.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from pathlib import Path

import httpx

PASSWORD = "e2e-password-long-enough"  # noqa: S105  # a throwaway account in a throwaway cluster
BURST = 300
LOAD_PERIOD_SECONDS = 1.0  # one API request a second stays far under RATE_LIMIT_USER through a 10 min upgrade
PROBLEM_JSON = "application/problem+json"


def _client(base: str) -> httpx.Client:
    # the dev ClusterIssuer's CA is not in the runner's trust store; TLS is still required
    return httpx.Client(base_url=base, verify=False, timeout=15)  # noqa: S501


def sign_in(client: httpx.Client, check: str) -> str:
    """Register a fresh account for this check and send its bearer token from now on; its email."""
    email = f"e2e-{check}-{uuid.uuid4().hex[:8]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    registered = client.post("/api/v1/auth/register", json=credentials)
    assert registered.status_code == 201, f"{check}: register {registered.status_code} {registered.text}"
    login = client.post("/api/v1/auth/login", json=credentials)
    assert login.status_code == 200, f"{check}: login {login.status_code} {login.text}"
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return email


def wait_processed(client: httpx.Client, doc_id: str, timeout: float = 120) -> str:
    """Poll a document until the worker is done with it; its final status. Like any polite client it
    waits out a 429 from the edge's per-address limit (polling many finished documents back to back
    goes past the burst) instead of reading the refusal as an answer."""
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() <= deadline:
        response = client.get(f"/api/v1/documents/{doc_id}")
        if response.status_code == 429:
            time.sleep(_retry_after(response))
            continue
        assert response.status_code == 200, f"document {doc_id}: {response.status_code} {response.text[:200]}"
        status = response.json()["status"]
        if status in ("ready", "failed"):
            return str(status)
        time.sleep(0.5)
    raise TimeoutError(f"document {doc_id} still {status} after {timeout:g}s")


def _retry_after(response: httpx.Response) -> float:
    """Seconds a refusal asks to wait (nginx's limit_req sends no Retry-After: then one second)."""
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.1), 10.0)
    except ValueError:
        return 1.0


def serves_but_hides_its_probes(client: httpx.Client) -> bool:
    """``/readyz`` through the ingress is Docket's own 404 (problem+json, not the ingress's page): the
    service behind it answers, and its probes stay on the pods' management ports."""
    response = client.get("/readyz")
    return response.status_code == 404 and response.headers.get("content-type", "").startswith(PROBLEM_JSON)


def smoke_run(client: httpx.Client) -> str:
    """Sign up, upload, wait until ready, find it by search, download it unchanged, and see the probes
    hidden behind the edge; the document's id."""
    sign_in(client, "smoke")
    word = f"zephyr{uuid.uuid4().hex[:8]}"
    body = f"# E2E\n\nthe {word} smoke test\n".encode()
    created = client.post("/api/v1/documents", files={"file": ("e2e.md", body, "text/markdown")})
    assert created.status_code == 201, created.text
    doc_id = str(created.json()["id"])
    status = wait_processed(client, doc_id)
    assert status == "ready", status
    hits = client.get("/api/v1/search", params={"q": word}).json()["items"]
    assert [hit["id"] for hit in hits] == [doc_id], hits
    downloaded = client.get(f"/api/v1/documents/{doc_id}/content")
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == body, "the download differs from the upload"
    assert serves_but_hides_its_probes(client), "/readyz must be Docket's 404 through the ingress"
    return doc_id


def smoke(base: str) -> int:
    with _client(base) as client:
        doc_id = smoke_run(client)
    print(f"smoke: uploaded, processed, found and downloaded {doc_id}")
    return 0


def burst(base: str) -> int:
    edge = api = 0
    with _client(base) as client:
        sign_in(client, "burst")
        for _ in range(BURST):
            response = client.get("/api/openapi.json")
            if response.status_code == 429:
                # the API answers problem+json; ingress-nginx its own page
                from_api = response.headers.get("content-type", "").startswith(PROBLEM_JSON)
                api += from_api
                edge += not from_api
    print(f"burst: of {BURST} requests, {edge} got 429 at the edge and {api} from the API")
    if api:
        print("burst: the API limited this check's own account: its requests were not counted as its own")
    return 0 if edge and not api else 1


def load(base: str, out: str, min_ok: int) -> int:
    counts = {"ok": 0, "failed": 0}
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    with _client(base) as client:
        sign_in(client, "load")
        print(f"load: signed in; a round every {LOAD_PERIOD_SECONDS:g} s until SIGTERM", flush=True)
        while running:
            started = time.monotonic()
            try:
                # the web answers (its own 404 for a probe path), and the API reads the database
                ok = (
                    serves_but_hides_its_probes(client) and client.get("/api/v1/documents").status_code == 200
                )
            except httpx.HTTPError:
                ok = False
            counts["ok" if ok else "failed"] += 1
            time.sleep(max(0.0, LOAD_PERIOD_SECONDS - (time.monotonic() - started)))
    Path(out).write_text(json.dumps(counts))
    print(f"load: {counts['ok']} rounds answered, {counts['failed']} failed (at least {min_ok} needed)")
    return 0 if counts["failed"] == 0 and counts["ok"] >= min_ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="e2e_check.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    checks = parser.add_subparsers(dest="check", required=True)
    checks.add_parser("smoke").add_argument("url")
    checks.add_parser("burst").add_argument("url")
    load_parser = checks.add_parser("load")
    load_parser.add_argument("url")
    load_parser.add_argument("out")
    load_parser.add_argument("--min-ok", type=int, default=30)
    args = parser.parse_args(argv)
    if args.check == "load":
        return load(args.url, args.out, args.min_ok)
    return smoke(args.url) if args.check == "smoke" else burst(args.url)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

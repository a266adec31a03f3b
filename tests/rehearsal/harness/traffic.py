"""Clients of the release through the edge over HTTPS, each from a loopback address of its own (the
ingress limits per client address), a smoke run, and open-loop mixed load."""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.log import say

_SOURCES = itertools.count(1)


def source_address() -> str:
    """A fresh client address on loopback (127.0.3.x .. 127.0.250.x): one client as the ingress sees it."""
    n = next(_SOURCES)
    return f"127.0.{3 + n // 250}.{1 + n % 250}"


class _RetryClosedKeepAlive(httpx.HTTPTransport):
    """Sends a GET again, once, when the reused keep-alive connection closed before any answer, as
    browsers do with an idempotent request (RFC 9110, 9.2.2). The edge reloads nginx on every
    readiness change, and a reload closes idle keep-alive connections: a request that picked one just
    then is lost before any server saw it. ingress-nginx changes endpoints without a reload."""

    retried = 0
    _lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.RemoteProtocolError as exc:
            if request.method != "GET" or "without sending a response" not in str(exc):
                raise
            with self._lock:
                _RetryClosedKeepAlive.retried += 1
            return super().handle_request(request)


def client(base: str, source: str | None = None, timeout: float = 30) -> httpx.Client:
    """An HTTPS client of the edge; the certificate is self-signed, TLS is still required."""
    transport = _RetryClosedKeepAlive(local_address=source or source_address(), verify=False, retries=0)
    return httpx.Client(base_url=base, transport=transport, timeout=timeout)


def upload(http: httpx.Client, name: str, text: str) -> httpx.Response:
    return http.post("/api/v1/documents", files={"file": (name, text.encode(), "text/markdown")})


@dataclass
class Outcome:
    """What one kind of request got: counts by status, and the failures' descriptions."""

    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


Request = Callable[[httpx.Client, random.Random], tuple[bool, str]]


class Load:
    """Open-loop load: requests start on a fixed schedule whatever the answers, from many clients."""

    def __init__(self, rate: float, mix: dict[str, tuple[float, Request]], users: list[httpx.Client]) -> None:
        self.rate = rate
        self.mix = mix
        self.users = users
        self.outcomes: dict[str, Outcome] = {name: Outcome() for name in mix}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._schedule, name="load", daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=96, thread_name_prefix="load")
        self._lock = threading.Lock()
        self._retried_before = _RetryClosedKeepAlive.retried
        self.late = 0  # requests that could not start on time (the pool was full): the load was not open

    def start(self) -> Load:
        say(f"load: {self.rate:.1f} requests/s open loop, mix {[(n, w) for n, (w, _) in self.mix.items()]}")
        self._thread.start()
        return self

    def _schedule(self) -> None:
        names = list(self.mix)
        weights = [self.mix[n][0] for n in names]
        rng = random.Random(17)
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(interval, next_at - now))
                continue
            if now - next_at > 1.0:
                self.late += 1
            name = rng.choices(names, weights)[0]
            user = self.users[sent % len(self.users)]
            self._pool.submit(self._one, name, user, random.Random(sent))
            sent += 1
            next_at += interval

    def _one(self, name: str, user: httpx.Client, rng: random.Random) -> None:
        started = time.monotonic()
        try:
            ok, detail = self.mix[name][1](user, rng)
        except httpx.HTTPError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        took = time.monotonic() - started
        with self._lock:
            outcome = self.outcomes[name]
            outcome.statuses[detail if not ok else "ok"] += 1
            outcome.latencies.append(took)
            if not ok:
                outcome.failures.append(detail)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)
        summary = self.summary()
        say(f"load: {summary}")
        return summary

    def summary(self) -> dict[str, Any]:
        total = sum(sum(o.statuses.values()) for o in self.outcomes.values())
        failed = sum(len(o.failures) for o in self.outcomes.values())
        return {
            "requests": total,
            "failed": failed,
            "gets_resent_after_a_reload": _RetryClosedKeepAlive.retried - self._retried_before,
            "late_starts": self.late,
            "by_kind": {n: dict(o.statuses) for n, o in self.outcomes.items()},
            "failures": [f for o in self.outcomes.values() for f in o.failures][:20],
        }


def closed_loop_capacity(
    request: Callable[[httpx.Client], bool],
    users: list[httpx.Client],
    seconds: float,
    concurrency: int,
    settle: Callable[[], None] = lambda: None,
) -> float:
    """Requests per second the release sustains with ``concurrency`` clients each waiting for its answer.

    ``settle`` waits for the work the requests left behind (the worker's jobs of the uploads); its time
    counts too, since a rate whose background work piles up is not one the release can sustain."""
    done = Counter[str]()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        user = users[index % len(users)]
        while time.monotonic() < deadline:
            try:
                ok = request(user)
            except httpx.HTTPError:
                ok = False
            with lock:
                done["ok" if ok else "failed"] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = time.monotonic() - started
    settle()
    took = time.monotonic() - started
    rate = done["ok"] / took
    say(
        f"capacity: {rate:.1f} requests/s with {concurrency} clients ({dict(done)}; answered in "
        f"{answered:.1f}s, their background work done {took - answered:.1f}s later)"
    )
    return rate


def mixed_requests(word: str, uploads: list[tuple[httpx.Client, str]]) -> dict[str, tuple[float, Request]]:
    """Reads of the API and the web, and uploads, each judged by the status it must get."""

    def listing(http: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        status = http.get("/api/v1/documents").status_code
        return status == 200, f"list {status}"

    def search(http: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        status = http.get("/api/v1/search", params={"q": word}).status_code
        return status == 200, f"search {status}"

    def page(http: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        status = http.get("/").status_code
        return status == 200, f"web / {status}"

    def add(http: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        response = upload(http, "load.md", f"# load\n\n{word} {rng.random()} {uuid.uuid4()}\n")
        if response.status_code == 201:
            uploads.append((http, response.json()["id"]))
        return response.status_code == 201, f"upload {response.status_code}"

    return {"list": (50, listing), "search": (20, search), "page": (15, page), "upload": (15, add)}

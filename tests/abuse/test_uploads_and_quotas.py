"""Issue #13, uploads and quotas: no account can stall, starve or fill Docket for the others.

Every test runs a real ``docket-api serve`` process (uvloop, httptools) against the session's real
PostgreSQL and Redis, and talks to it over real sockets. Uploads whose pace the test must control
byte by byte go through :class:`RawUpload`, a multipart POST written to a raw socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from apikit import TEST_SECRET, bearer, register_and_login
from embedded_services import free_port
from servers import cli, service_process

PROBLEM = "application/problem+json"
TYPE = "urn:docket:problem:"


# ---------------------------------------------------------------------------------------------
# the API process and what it leaves behind


@dataclass
class Api:
    url: str
    port: int
    proc: Any
    spool_dir: Path
    database_url: str
    redis_url: str

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def account(self, email: str | None = None) -> tuple[str, dict[str, str]]:
        """A new account: its user id and its bearer header."""
        with self.client() as client:
            tokens = register_and_login(client, email or f"u-{uuid.uuid4().hex[:8]}@example.com")
            me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200, me.text
        return str(me.json()["id"]), bearer(tokens["access_token"])

    def spool_fds(self) -> list[str]:
        """Files in the spool directory (TMPDIR) the process holds open; unnamed ones show as '#…'."""
        found = []
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith(str(self.spool_dir)):
                    found.append(target)
        return found

    def slots(self, user_id: str) -> int:
        client: Any = redis.Redis.from_url(self.redis_url)
        try:
            return int(client.zcard(f"docket:uploads-in-flight:{user_id}"))
        finally:
            client.close()

    def stored(self) -> dict[str, int]:
        with psycopg.connect(self.database_url) as conn:
            return {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in ("documents", "document_blobs", "document_blob_chunks", "jobs")
            }

    def assert_nothing_held(self, user_id: str, deadline: float = 10) -> None:
        """No spool file open or in TMPDIR and no upload slot, once the server has cleaned up."""
        until = time.monotonic() + deadline
        while self.spool_fds() or self.slots(user_id) or list(self.spool_dir.iterdir()):
            if time.monotonic() > until:
                pytest.fail(
                    f"left behind: fds {self.spool_fds()}, slots {self.slots(user_id)}, "
                    f"files {list(self.spool_dir.iterdir())}"
                )
            time.sleep(0.05)


StartApi = Callable[..., Api]


@pytest.fixture
def start_api(clean_db: str, clean_redis: str, tmp_path: Path) -> Iterator[StartApi]:
    """Start ``docket-api serve`` with these settings on top of test defaults; stopped at the end."""
    stack = contextlib.ExitStack()

    def start(**settings: Any) -> Api:
        port = free_port()
        spool_dir = tmp_path / f"spool-{port}"
        spool_dir.mkdir()
        env = {
            "PORT": str(port),
            "DATABASE_URL": clean_db,
            "REDIS_URL": clean_redis,
            "JWT_SECRET": TEST_SECRET,
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(spool_dir),
            "RATE_LIMIT_ANONYMOUS": "100000",
            "RATE_LIMIT_USER": "100000",
            **{name.upper(): str(value) for name, value in settings.items()},
        }
        proc = stack.enter_context(service_process([*cli("docket-api"), "serve"], env, port))
        return Api(f"http://127.0.0.1:{port}", port, proc, spool_dir, clean_db, clean_redis)

    with stack:
        yield start


# ---------------------------------------------------------------------------------------------
# an upload over a raw socket, sent exactly as fast as the test says


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class RawUpload:
    """One ``POST /api/v1/documents`` with a declared length, whose bytes go out when the test says."""

    def __init__(self, port: int, auth: dict[str, str], content: bytes, filename: str = "file.txt") -> None:
        boundary = f"raw{uuid.uuid4().hex}"
        prefix = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        self.body = prefix + content + f"\r\n--{boundary}--\r\n".encode()
        head = (
            f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: {auth['Authorization']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(head)
        self.sent = 0
        self.started = time.monotonic()

    @property
    def remaining(self) -> int:
        return len(self.body) - self.sent

    def send(self, size: int) -> bool:
        """Send the next ``size`` bytes of the body; False once the server has stopped listening."""
        piece = self.body[self.sent : self.sent + size]
        try:
            self.sock.sendall(piece)
        except OSError:
            return False
        self.sent += len(piece)
        return True

    def send_all_but(self, keep: int) -> None:
        assert self.send(self.remaining - keep)

    def trickle(self, rate: float, until: Callable[[], bool], piece: int = 100) -> None:
        """Send ``piece`` bytes at a time at ``rate`` bytes a second until ``until()`` or an answer
        arrives, keeping the body's last bytes back."""
        while not until() and self.remaining > 2 * piece and not self.answered():
            if not self.send(piece):
                return
            time.sleep(piece / rate)

    def answered(self, wait: float = 0) -> bool:
        readable, _, _ = select.select([self.sock], [], [], wait)
        return bool(readable)

    def answer(self, timeout: float = 30) -> Answer:
        """Read the response to the end (the server closes: the request said Connection: close)."""
        self.sock.settimeout(timeout)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := self.sock.recv(65536):
                data += chunk
        self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), f"no HTTP answer: {data[:200]!r}"
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        return Answer(int(lines[0].split()[1]), headers, json.loads(body) if body else {})

    def close(self) -> None:
        self.sock.close()


def assert_problem(answer: Answer | httpx.Response, status: int, slug: str) -> dict[str, Any]:
    if isinstance(answer, httpx.Response):
        answer = Answer(answer.status_code, dict(answer.headers), answer.json())
    assert answer.status == status, answer.body
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.body["type"] == TYPE + slug, answer.body
    return answer.body


def upload(client: httpx.Client, auth: dict[str, str], content: bytes, name: str = "f.txt") -> httpx.Response:
    return client.post("/api/v1/documents", files={"file": (name, content, "text/plain")}, headers=auth)


# ---------------------------------------------------------------------------------------------
# slow clients hold nothing shared


class IdleInTransactionWatch(threading.Thread):
    """Samples pg_stat_activity every 20 ms: the longest any API session sat idle in a transaction."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.stop = threading.Event()
        self.longest = 0.0
        self.samples = 0
        self.api_sessions_seen = 0

    def run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT state, coalesce(extract(epoch FROM clock_timestamp() - state_change), 0) "
                    "FROM pg_stat_activity WHERE application_name = 'docket-api'"
                ).fetchall()
                self.samples += 1
                self.api_sessions_seen = max(self.api_sessions_seen, len(rows))
                for state, seconds in rows:
                    if str(state).startswith("idle in transaction"):
                        self.longest = max(self.longest, float(seconds))
                time.sleep(0.02)


@pytest.mark.slow
def test_twenty_slow_uploads_leave_another_accounts_requests_fast_and_no_transaction_idle(
    start_api: StartApi,
) -> None:
    # the finding: 12 slow uploads from one account held all 10 pooled connections (DB_POOL_MAX_SIZE's
    # default) and another account's list requests failed with 500 after 5 s
    api = start_api(
        quota_uploads_in_flight=20,
        upload_spool_max_bytes=1024 * 1024 * 1024,
        upload_min_bytes_per_second=256,
        upload_grace_seconds=10,
    )
    slow_user, slow_auth = api.account()
    _, other_auth = api.account()
    with api.client() as client:
        for i in range(30):
            assert upload(client, other_auth, f"listed {i}".encode()).status_code == 201

    lists_done = threading.Event()
    uploads = [RawUpload(api.port, slow_auth, f"slow {i} ".encode() * 2000) for i in range(20)]
    watch = IdleInTransactionWatch(api.database_url)
    watch.start()
    with ThreadPoolExecutor(len(uploads)) as pool:
        senders = [pool.submit(u.trickle, 1024, lists_done.is_set) for u in uploads]  # 1 KB/s each
        deadline = time.monotonic() + 30
        while not all(u.sent >= 2048 for u in uploads):  # every upload is being received
            assert time.monotonic() < deadline, "the slow uploads did not get going"
            time.sleep(0.1)
        assert api.slots(slow_user) == 20, "all twenty are in flight on the server"

        latencies = []
        with api.client(timeout=10) as client:
            for _ in range(200):
                started = time.perf_counter()
                response = client.get("/api/v1/documents", params={"limit": 20}, headers=other_auth)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                assert len(response.json()["items"]) == 20
        lists_done.set()
        for sender in senders:
            sender.result()
    assert not any(u.answered() for u in uploads), "the slow uploads were still open after the lists"
    for u in uploads:
        u.send_all_but(0)
    answers = [u.answer() for u in uploads]
    watch.stop.set()
    watch.join(5)

    assert [a.status for a in answers] == [201] * 20, [a.body for a in answers if a.status != 201]
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 0.25, f"p99 of the other account's lists was {p99 * 1000:.0f} ms"
    assert watch.samples > 50
    assert watch.api_sessions_seen >= 1, "the watch saw the API's sessions"
    assert watch.longest < 1.0, f"an API session sat idle in a transaction for {watch.longest:.2f} s"
    assert api.stored()["documents"] == 30 + 20
    api.assert_nothing_held(slow_user)


def test_a_client_below_the_minimum_rate_after_the_grace_period_gets_408_and_nothing_is_kept(
    start_api: StartApi,
) -> None:
    api = start_api(upload_min_bytes_per_second=4000, upload_grace_seconds=1, upload_spool_memory_bytes=1024)
    user, auth = api.account()
    slow = RawUpload(api.port, auth, b"t" * 100_000)
    slow.send(8000)  # past the 1 KiB kept in memory: the spool is a file in TMPDIR now
    deadline = time.monotonic() + 10
    while not api.spool_fds():
        assert time.monotonic() < deadline, "the body never reached a spool file"
        time.sleep(0.05)
    slow.trickle(200, lambda: False)  # 200 B/s, far below 4000 B/s
    elapsed = time.monotonic() - slow.started
    answer = slow.answer()

    problem = assert_problem(answer, 408, "upload-too-slow")
    assert "4000 bytes per second" in problem["detail"]
    assert answer.headers["connection"] == "close"
    assert 1 <= elapsed < 10, "cut off soon after the grace period, not before it"
    assert api.stored() == {"documents": 0, "document_blobs": 0, "document_blob_chunks": 0, "jobs": 0}
    api.assert_nothing_held(user)


def test_a_client_past_the_absolute_cap_gets_408_however_fast_it_sends(start_api: StartApi) -> None:
    api = start_api(upload_min_bytes_per_second=100, upload_grace_seconds=1, upload_max_seconds=2)
    user, auth = api.account()
    steady = RawUpload(api.port, auth, b"c" * 200_000)
    steady.trickle(20_000, lambda: False, piece=1000)  # 200 times the minimum rate, but 10 s in all
    elapsed = time.monotonic() - steady.started
    answer = steady.answer()

    assert_problem(answer, 408, "upload-too-long")
    assert 2 <= elapsed < 8
    assert api.stored()["documents"] == 0
    api.assert_nothing_held(user)


def test_a_client_that_disconnects_mid_upload_leaves_no_spool_file_and_no_slot(start_api: StartApi) -> None:
    api = start_api(upload_spool_memory_bytes=1024)
    user, auth = api.account()
    gone = RawUpload(api.port, auth, b"d" * 50_000)
    gone.send(20_000)
    deadline = time.monotonic() + 10
    while not (api.spool_fds() and api.slots(user)):
        assert time.monotonic() < deadline, "the upload never got going"
        time.sleep(0.05)
    gone.close()

    api.assert_nothing_held(user)
    assert api.stored()["document_blobs"] == 0
    with api.client() as client:  # the account can upload again at once
        assert upload(client, auth, b"after the disconnect").status_code == 201


# ---------------------------------------------------------------------------------------------
# quotas


def test_stored_bytes_quota_refuses_the_file_that_does_not_fit_and_keeps_nothing_of_it(
    start_api: StartApi,
) -> None:
    api = start_api(quota_stored_bytes=10_000)
    user, auth = api.account()
    with api.client() as client:
        assert upload(client, auth, b"a" * 6000).status_code == 201
        refused = upload(client, auth, b"b" * 5000)
        problem = assert_problem(refused, 403, "quota-stored-bytes")
        assert (problem["limit"], problem["used"]) == (10_000, 6000)
        assert upload(client, auth, b"c" * 4000).status_code == 201, "exactly the quota fits"
        assert_problem(upload(client, auth, b"d"), 403, "quota-stored-bytes")
        _, other = api.account()
        assert upload(client, other, b"b" * 5000).status_code == 201, "the quota is per account"
    assert api.stored() == {"documents": 3, "document_blobs": 3, "document_blob_chunks": 3, "jobs": 3}
    api.assert_nothing_held(user)


def test_documents_quota_refuses_one_more_until_one_is_deleted(start_api: StartApi) -> None:
    api = start_api(quota_documents=3)
    user, auth = api.account()
    with api.client() as client:
        ids = [upload(client, auth, f"doc {i}".encode()).json()["id"] for i in range(3)]
        problem = assert_problem(upload(client, auth, b"doc 3"), 403, "quota-documents")
        assert (problem["limit"], problem["used"]) == (3, 3)
        assert client.delete(f"/api/v1/documents/{ids[0]}", headers=auth).status_code == 204
        assert upload(client, auth, b"doc 3").status_code == 201
    counts = api.stored()
    assert counts["documents"] == 3
    assert counts["jobs"] == 5, "four process jobs and one purge, none for the refused upload"
    api.assert_nothing_held(user)


def test_concurrent_uploads_cannot_together_exceed_the_quota(start_api: StartApi) -> None:
    api = start_api(quota_stored_bytes=10_000, quota_uploads_in_flight=8, upload_spool_max_bytes=10**9)
    user, auth = api.account()
    uploads = [RawUpload(api.port, auth, bytes([65 + i]) * 3000) for i in range(8)]
    for u in uploads:  # every body is in and has passed the early check; only the last bytes are held
        u.send_all_but(10)
    deadline = time.monotonic() + 10
    while api.slots(user) < 8:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    barrier = threading.Barrier(len(uploads))

    def finish(u: RawUpload) -> Answer:
        barrier.wait()
        u.send_all_but(0)
        return u.answer()

    with ThreadPoolExecutor(len(uploads)) as pool:
        answers = list(pool.map(finish, uploads))

    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * 3 + [403] * 5, [a.body for a in answers]
    for a in answers:
        if a.status == 403:
            assert a.body["type"] == TYPE + "quota-stored-bytes"
    with psycopg.connect(api.database_url) as conn:
        total = conn.execute("SELECT sum(size_bytes) FROM documents").fetchone()
    assert total == (9000,)
    assert api.stored() == {"documents": 3, "document_blobs": 3, "document_blob_chunks": 3, "jobs": 3}
    api.assert_nothing_held(user)


def test_uploads_in_flight_quota_refuses_a_third_with_429_and_other_accounts_are_unaffected(
    start_api: StartApi,
) -> None:
    api = start_api(quota_uploads_in_flight=2)
    user, auth = api.account()
    held = [RawUpload(api.port, auth, f"held {i} ".encode() * 500) for i in range(2)]
    for u in held:
        u.send_all_but(100)
    deadline = time.monotonic() + 10
    while api.slots(user) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    with api.client() as client:
        refused = upload(client, auth, b"a third at once")
        problem = assert_problem(refused, 429, "quota-uploads-in-flight")
        assert problem["limit"] == 2
        assert int(refused.headers["retry-after"]) > 0
        _, other = api.account()
        assert upload(client, other, b"someone else's upload").status_code == 201
        held[0].send_all_but(0)
        assert held[0].answer().status == 201
        assert upload(client, auth, b"a third at once").status_code == 201, "a slot is free again"
    held[1].send_all_but(0)
    assert held[1].answer().status == 201
    assert api.stored()["documents"] == 4
    api.assert_nothing_held(user)


def test_reprocess_queues_nothing_while_the_documents_job_is_unfinished(start_api: StartApi) -> None:
    api = start_api()
    user, auth = api.account()
    with api.client() as client:
        doc = upload(client, auth, b"reprocess me").json()["id"]
        url = f"/api/v1/documents/{doc}/reprocess"
        problem = assert_problem(client.post(url, headers=auth), 409, "reprocess-already-queued")
        assert (problem["document_status"], problem["job_status"]) == ("pending", "queued")
        with psycopg.connect(api.database_url) as conn:  # a worker takes the job: still unfinished
            conn.execute("UPDATE jobs SET status = 'running', locked_until = now() + interval '1 minute'")
        problem = assert_problem(client.post(url, headers=auth), 409, "reprocess-already-queued")
        assert problem["job_status"] == "running"
        with psycopg.connect(api.database_url) as conn:  # and finishes it
            conn.execute("UPDATE jobs SET status = 'succeeded', locked_until = NULL")
            conn.execute("UPDATE documents SET status = 'ready'")

        with ThreadPoolExecutor(10) as pool:  # ten at once: exactly one is queued
            answers = list(pool.map(lambda _: client.post(url, headers=auth), range(10)))
    assert sorted(a.status_code for a in answers) == [202] + [409] * 9
    with psycopg.connect(api.database_url) as conn:
        jobs = conn.execute("SELECT status FROM jobs ORDER BY id").fetchall()
    assert jobs == [("succeeded",), ("queued",)]
    api.assert_nothing_held(user)


def test_one_account_cannot_fill_the_servers_upload_spool(start_api: StartApi) -> None:
    # 2 uploads in flight x 100 KB per account: one account holds at most 200 KB of the 250 KB
    api = start_api(
        max_upload_bytes=100_000, quota_uploads_in_flight=2, upload_spool_max_bytes=250_000,
        upload_spool_memory_bytes=10_000,
    )  # fmt: skip
    hog, hog_auth = api.account()
    other, other_auth = api.account()
    held = [RawUpload(api.port, hog_auth, bytes([70 + i]) * 100_000) for i in range(2)]
    for u in held:
        u.send_all_but(100)
    deadline = time.monotonic() + 10
    while len(api.spool_fds()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    with api.client() as client:
        assert upload(client, other_auth, b"o" * 40_000).status_code == 201, "room is left for others"
        refused = upload(client, other_auth, b"p" * 60_000)  # 200 + 60 KB would pass 250 KB
        assert_problem(refused, 503, "upload-capacity")
        assert int(refused.headers["retry-after"]) > 0
        for u in held:
            u.send_all_but(0)
            assert u.answer().status == 201
        assert upload(client, other_auth, b"p" * 60_000).status_code == 201, "room again once they finish"
    api.assert_nothing_held(hog)
    api.assert_nothing_held(other)


# ---------------------------------------------------------------------------------------------
# failures: Redis down, SIGTERM mid-upload


def test_with_redis_down_a_signed_in_upload_is_refused_before_anything_is_stored(start_api: StartApi) -> None:
    # Without Redis the API cannot tell a logged-out token from a live one, so signed-in requests fail
    # closed (503 token-check-unavailable, see OPERATIONS.md "Limits and abuse"); an upload then stores
    # nothing and holds no slot.
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    api = start_api(redis_url=dead_redis, redis_connect_timeout=0.2, quota_documents=1)
    with api.client() as client:
        auth = bearer(register_and_login(client)["access_token"])  # login throttling fails open
        refused = upload(client, auth, b"no redis, nothing stored")
        assert_problem(refused, 503, "token-check-unavailable")
        assert int(refused.headers["retry-after"]) > 0
    assert api.stored()["documents"] == 0
    assert not api.spool_fds()


@pytest.mark.parametrize("client_finishes", [True, False], ids=["completes", "cut-off"])
def test_sigterm_mid_upload_either_completes_it_or_leaves_nothing(
    start_api: StartApi, client_finishes: bool
) -> None:
    api = start_api(shutdown_grace_seconds=2, upload_spool_memory_bytes=1024, log_level="INFO")
    user, auth = api.account()
    mid = RawUpload(api.port, auth, b"s" * 30_000)
    mid.send(10_000)
    deadline = time.monotonic() + 10
    while not api.spool_fds():
        assert time.monotonic() < deadline
        time.sleep(0.05)

    api.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    if client_finishes:
        mid.send_all_but(0)
        answer = mid.answer()
        assert answer.status == 201, answer.body
    else:
        assert not mid.answered(1.0)  # the client stalls; the grace period runs out
    assert api.proc.wait(15) == 0
    output = api.proc.stdout.read().decode(errors="replace") if api.proc.stdout else ""
    mid.close()

    if client_finishes:
        assert "Traceback" not in output, output[-3000:]
    else:  # uvicorn cancels the request and logs the cancellation; nothing else may have failed
        assert "timeout graceful shutdown exceeded" in output
        assert output.count("Traceback") <= 1, output[-3000:]
    assert api.stored()["documents"] == (1 if client_finishes else 0)
    assert api.stored()["document_blobs"] == (1 if client_finishes else 0)
    assert list(api.spool_dir.iterdir()) == []
    assert api.slots(user) == 0, "the slot was given back, even by the cancelled upload"

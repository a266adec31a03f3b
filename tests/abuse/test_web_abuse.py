"""What one hostile visitor can do to the web, and so to everyone else: nothing that costs the others.

The web runs as a real process (`docket-web serve`) in front of the real API, on the session's
PostgreSQL and Redis. Uploads are sent over raw sockets, a chunk at a time, so a test can count how
much of a body the web took before it answered, and stall whenever it likes.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from apikit import PASSWORD, api_settings
from embedded_services import free_port
from servers import ThreadedServer, cli, service_process
from webkit import Browser, stored_session, web_settings

from docket_api.app import create_app as create_api
from docket_web.app import create_app as create_web

MB = 1024 * 1024
CHUNK = 64 * 1024
ANNOUNCED = 20 * MB
# the web's body deadline here: 1 s of grace, then 200 kB/s, and all of it within 6 s
MIN_RATE, GRACE, CAP = 200_000, 1.0, 6.0


@dataclass
class Web:
    """The web process, its ports, and its TMPDIR (where Litestar would spool a parsed form)."""

    process: subprocess.Popen[bytes]
    port: int
    management_port: int
    tmpdir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refusals(self, reason: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.management_port}/metrics").text
        found = re.search(rf'^docket_web_refusals_total{{reason="{reason}"}} (\S+)$', text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    def open_files(self) -> list[str]:
        """What the web process holds open: files (a spool is unlinked at once, so only /proc sees
        it, as ``/tmp/…/#123 (deleted)``), sockets, pipes."""
        held = []
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                held.append(os.readlink(fd))
        return held

    def spools(self) -> list[str]:
        """The files under its TMPDIR the web holds open."""
        return [target for target in self.open_files() if target.startswith(str(self.tmpdir))]


@dataclass
class Stack:
    web: Web
    api: str
    database: str


@pytest.fixture(scope="module")
def stack(make_database: Callable[[bool], str], redis_url: str, tmp_path_factory: Any) -> Iterator[Stack]:
    database = make_database(True)
    settings = api_settings(database, redis_url, trusted_proxies=("127.0.0.1/32",))
    tmpdir = tmp_path_factory.mktemp("web-tmp")
    port, management_port = free_port(), free_port()
    with ThreadedServer(create_api(settings)) as api:
        env = {
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "WARNING",
            "PORT": str(port),
            "MANAGEMENT_PORT": str(management_port),
            "API_URL": api.url,
            "REDIS_URL": redis_url,
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "TMPDIR": str(tmpdir),
            "UPLOAD_MIN_BYTES_PER_SECOND": str(MIN_RATE),
            "UPLOAD_GRACE_SECONDS": str(GRACE),
            "UPLOAD_MAX_SECONDS": str(CAP),
        }
        with service_process([*cli("docket-web"), "serve"], env, port) as process:
            yield Stack(Web(process, port, management_port, tmpdir), api.url, database)


@dataclass
class Visitor:
    """What a browser holds after loading a form: cookies, and the page's CSRF token."""

    cookie: str
    token: str


def visitor(web: Web, *, signed_in: bool) -> Visitor:
    with Browser(web.url) as browser:
        if signed_in:
            browser.sign_up(f"abuse-{uuid.uuid4().hex[:8]}@example.com")
        token = browser.csrf_token("/upload" if signed_in else "/signin")
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return Visitor(cookie, token)


# ---- a raw HTTP client that sends a body slowly and stops when the server answers ---------------------


@dataclass
class Outcome:
    sent: int  # body bytes the connection took before the answer (or the close) came
    answer: bytes  # what came back: b"" when the server reset the connection instead


def multipart_head(boundary: str, *, token: str | None, filename: str = "big.txt") -> bytes:
    first = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{token}\r\n'
        if token is not None
        else ""
    )
    return (
        f'{first}--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()


def post_slowly(
    web: Web,
    headers: dict[str, str],
    body_head: bytes,
    *,
    length: int = ANNOUNCED,
    pace: float = 0.02,
    stop_after: int | None = None,
) -> Outcome:
    """POST /upload announcing ``length`` bytes; send them a chunk every ``pace`` seconds until the
    server answers or closes (or ``stop_after`` bytes are out: then stall and wait for its answer)."""
    request = ["POST /upload HTTP/1.1", f"Host: 127.0.0.1:{web.port}", f"Content-Length: {length}"]
    request += [f"{name}: {value}" for name, value in headers.items()]
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)  # keep the kernel's share small
        sock.connect(("127.0.0.1", web.port))
        sock.settimeout(10)
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        sent, pending = 0, body_head
        while sent < length and (stop_after is None or sent < stop_after):
            if select.select([sock], [], [], pace)[0]:
                break  # an answer, or the connection ended
            chunk = pending[:CHUNK] or b"x" * min(CHUNK, length - sent)
            pending = pending[len(chunk) :]
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            except TimeoutError:
                break  # the server stopped reading
            sent += len(chunk)
        return Outcome(sent, _answer(sock))


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    sock.settimeout(20)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def status_of(outcome: Outcome) -> int | None:
    found = re.match(rb"HTTP/1\.1 (\d{3}) ", outcome.answer)
    return int(found.group(1)) if found else None


# ---- refused from the headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sends", "reason", "status"),
    [
        ("anonymous", "nothing", "csrf", 403),  # no CSRF cookie at all: a cross-site post
        ("anonymous", "header", "sign-in-required", 303),  # a token from /signin, but no session
        ("anonymous", "first-field", "sign-in-required", 303),  # the no-JS form, without a session
        ("signed-in", "nothing", "csrf", 403),  # a session, but no token anywhere
        ("signed-in", "wrong-header", "csrf", 403),
    ],
)
def test_a_20_mb_upload_without_a_session_or_a_token_is_refused_before_1_mb_is_read(
    stack: Stack, who: str, sends: str, reason: str, status: int
) -> None:
    web = stack.web
    holder = visitor(web, signed_in=who == "signed-in")
    boundary = uuid.uuid4().hex
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if who == "signed-in" or sends != "nothing":
        headers["Cookie"] = holder.cookie
    if sends == "header":
        headers["X-CSRFToken"] = holder.token
    if sends == "wrong-header":
        headers["X-CSRFToken"] = "0" * 128
    body_head = multipart_head(boundary, token=holder.token if sends == "first-field" else None)
    before = web.refusals(reason)

    outcome = post_slowly(web, headers, body_head)

    print(f"[web abuse] {who}, {sends}: {status_of(outcome)} after {outcome.sent} of {ANNOUNCED} bytes")
    assert outcome.sent < MB, f"the web took {outcome.sent} bytes of a body it refused"
    assert status_of(outcome) in (status, None), outcome.answer[:200]  # None: it closed with a reset
    assert web.refusals(reason) == before + 1
    assert web.spools() == []


def test_the_refusal_of_a_small_form_still_reaches_the_client(stack: Stack) -> None:
    # an early answer drains a small body first, so an honest client with a stale page reads it
    with Browser(stack.web.url) as browser:
        browser.get("/signin")
        response = browser.post("/upload", data={"_csrf_token": "stale"}, files={"file": ("a.txt", b"hi")})
        assert response.status_code == 403
        assert "This form has expired" in response.text
        assert browser.get("/signin").status_code == 200, "and the connection is still good"


# ---- the body deadline ---------------------------------------------------------------------------------


def test_a_form_upload_that_stalls_gets_408_and_nothing_of_it_is_kept(stack: Stack) -> None:
    web = stack.web
    holder = visitor(web, signed_in=True)
    boundary = uuid.uuid4().hex
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": holder.cookie}
    before = web.refusals("body-too-slow")
    started = time.monotonic()
    # 300 kB of the file arrive at once, then nothing more
    outcome = post_slowly(
        web,
        headers,
        multipart_head(boundary, token=holder.token),
        length=5 * MB,
        pace=0.001,
        stop_after=300_000,
    )
    waited = time.monotonic() - started
    assert status_of(outcome) == 408, outcome.answer[:300]
    assert b"arrived too slowly" in outcome.answer
    # allowed: GRACE plus the time its bytes buy at MIN_RATE, and the 1 s the early answer lingers
    assert waited < GRACE + 300_000 / MIN_RATE + 1 + 3
    assert web.refusals("body-too-slow") == before + 1
    with psycopg.connect(stack.database) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,), "a half file was kept"


def test_a_form_upload_in_flight_is_relayed_not_stored(stack: Stack) -> None:
    # with Litestar's form parsing this held a spool file under TMPDIR for the whole upload; one
    # account could fill the pod's /tmp with a few parallel forms
    web = stack.web
    holder = visitor(web, signed_in=True)
    boundary = uuid.uuid4().hex
    request = (
        f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {5 * MB}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nCookie: {holder.cookie}\r\n\r\n"
    ).encode()
    before = set(web.open_files())
    with socket.create_connection(("127.0.0.1", web.port)) as sock:
        sock.sendall(request + multipart_head(boundary, token=holder.token) + b"y" * 2_000_000)
        held = _files_once_the_upload_is_open(web, before)
        assert _new_sockets(held, before), (
            "the upload in flight shows in /proc (its sockets), or this sees nothing"
        )
        assert web.spools() == [], "the web stored part of the upload under TMPDIR"
        assert not [target for target in held if target.startswith("/") and "(deleted)" in target], held
    with psycopg.connect(stack.database) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)


def _new_sockets(files: list[str], before: set[str]) -> list[str]:
    return [target for target in files if target.startswith("socket:") and target not in before]


def _files_once_the_upload_is_open(web: Web, before: set[str], within: float = 15) -> list[str]:
    """The web's open files once the upload's sockets show (on a loaded machine that takes more
    than the second an idle one needs). New sockets, not a count: the web's keep-alive connections to
    the API (pages call it) may close meanwhile."""
    deadline = time.monotonic() + within
    while not _new_sockets(web.open_files(), before) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # and the web has read what was sent, and waits for the rest
    return web.open_files()


@pytest.mark.slow
def test_a_streamed_upload_past_the_absolute_cap_gets_408_and_the_api_stores_nothing(stack: Stack) -> None:
    web = stack.web
    holder = visitor(web, signed_in=True)
    boundary = uuid.uuid4().hex
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": holder.cookie,
        "X-CSRFToken": holder.token,
        "Accept": "application/json",
    }
    started = time.monotonic()
    # 64 kB every 0.2 s is 320 kB/s: above the minimum rate, but 5 MB would need 16 s
    outcome = post_slowly(web, headers, multipart_head(boundary, token=None), length=5 * MB, pace=0.2)
    took = time.monotonic() - started
    assert status_of(outcome) in (408, None), outcome.answer[:300]
    assert CAP - 0.5 <= took < CAP + 4, took
    assert outcome.sent < 5 * MB
    with psycopg.connect(stack.database) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)


# ---- sessions ------------------------------------------------------------------------------------------


@pytest.fixture
def serve_api(clean_db: str, clean_redis: str) -> Iterator[Callable[..., str]]:
    """Start the API (trusting loopback: the web, and the ingress these tests play) in a thread."""
    started: list[ThreadedServer] = []

    def start(**overrides: Any) -> str:
        settings = api_settings(clean_db, clean_redis, trusted_proxies=("127.0.0.1/32",), **overrides)
        started.append(ThreadedServer(create_api(settings)).__enter__())
        return started[-1].url

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def short_sessions(serve_api: Callable[..., str], clean_redis: str) -> Iterator[str]:
    """API and web (in threads) whose sessions end 3 s after sign-in, however busy."""
    web_app = create_web(web_settings(serve_api(), clean_redis, session_max_age_seconds=3))
    with ThreadedServer(web_app) as web:
        yield web.url


def test_a_session_past_its_absolute_lifetime_is_refused_even_if_used_all_along(short_sessions: str) -> None:
    with Browser(short_sessions) as browser:
        browser.sign_up()
        signed_in = time.monotonic()  # a little after the session began
        statuses: list[tuple[float, float, int]] = []  # sent, answered (seconds after), status
        while time.monotonic() - signed_in < 4.5:
            sent = time.monotonic() - signed_in
            status = browser.get("/documents").status_code
            statuses.append((sent, time.monotonic() - signed_in, status))
            time.sleep(0.3)
    early = [status for _, answered, status in statuses if answered < 2.0]
    late = [status for sent, _, status in statuses if sent > 3.5]
    assert early, statuses
    assert set(early) == {200}, f"used every 0.3 s, the idle lifetime never runs out: {statuses}"
    assert late, statuses
    assert set(late) == {303}, f"past SESSION_MAX_AGE_SECONDS every request is sent to sign in: {statuses}"


def test_a_dump_of_redis_holds_neither_the_cookie_nor_any_api_token(
    serve_api: Callable[..., str], clean_redis: str
) -> None:
    api = serve_api()
    web_app = create_web(web_settings(api, clean_redis))
    with ThreadedServer(web_app) as web, Browser(web.url) as browser:
        browser.sign_up("dump@example.com")
        browser.upload(("a.txt", b"something to keep a session busy"))
        cookie = browser.session_cookie()
        session = stored_session(clean_redis, cookie)  # what the cookie alone unseals
        assert session is not None
        secrets = [cookie, session["access_token"], session["refresh_token"]]
        dump = _dump(clean_redis)
    assert dump, "the dump read nothing"
    for secret in secrets:
        for piece in (secret.encode(), secret.encode().hex().encode()):
            assert piece not in dump, f"{secret[:12]}… is readable in Redis"


def _dump(redis_url: str) -> bytes:
    """Every key and every value in Redis, whatever its type, as one blob."""
    client: Any = redis.Redis.from_url(redis_url)
    parts: list[bytes] = []
    try:
        for key in client.scan_iter(count=1000):
            parts.append(key)
            kind = client.type(key)
            if kind == b"string":
                parts.append(client.get(key))
            elif kind == b"hash":
                parts.extend(b"".join(pair) for pair in client.hgetall(key).items())
            elif kind == b"list":
                parts.extend(client.lrange(key, 0, -1))
            elif kind in (b"set", b"zset"):
                members = client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1)
                parts.extend(members)
            parts.append(client.dump(key) or b"")
    finally:
        client.close()
    return b"\n".join(parts)


# ---- the API sees each visitor -------------------------------------------------------------------------


def test_two_visitors_through_the_web_get_separate_api_rate_limit_buckets(
    serve_api: Callable[..., str], clean_redis: str
) -> None:
    api = serve_api(rate_limit_anonymous=3, rate_limit_window_seconds=60)
    with httpx.Client(base_url=api) as direct:  # the account, made straight at the API
        assert (
            direct.post(
                "/api/v1/auth/register", json={"email": "visitor@example.com", "password": PASSWORD}
            ).status_code
            == 201
        )
    web_app = create_web(web_settings(api, clean_redis))  # both trust 127.0.0.1: the ingress, the web
    credentials = {"email": "visitor@example.com", "password": PASSWORD}
    with ThreadedServer(web_app) as web:
        alice = Browser(web.url, forwarded_for="203.0.113.7")
        bob = Browser(web.url, forwarded_for="198.51.100.9")
        # alice pretends an address of her own lies further back: the web drops what she wrote
        mallory = Browser(web.url, forwarded_for="192.0.2.50, 203.0.113.7")
        with alice, bob, mallory:
            signins = [alice.submit("/signin", "/signin", credentials).status_code for _ in range(4)]
            assert signins == [303, 303, 303, 429], "alice's sign-ins count in a bucket of her own"
            assert bob.submit("/signin", "/signin", credentials).status_code == 303, "bob has his own"
            assert mallory.submit("/signin", "/signin", credentials).status_code == 429, "alice's again"

"""Real high-availability parts on loopback for tests/ha: PgBouncer, and Redis with Sentinels.

Debian's ``pgbouncer``, ``redis-server`` and ``redis-sentinel`` packages (``.ci/run`` installs them).
PgBouncer refuses to run as root, so as root it runs as ``nobody``, like the embedded PostgreSQL.
Every process runs in its own process group and is stopped by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from embedded_services import free_port, redis_argv, spawn_listening, stop_process
from psycopg.rows import dict_row


def require_binary(name: str) -> str:
    """The program's path; skips the test (saying how to get it) when it is not installed."""
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if not found:
        pytest.skip(f"{name} is not installed (apt-get install {name.split('-')[0]}; .ci/run does)")
    return found


def _as_nobody() -> list[str]:
    return ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []


class PgBouncer:
    """PgBouncer in transaction mode in front of one PostgreSQL; every database name passes through.

    ``pool_size`` server connections per database and user at most: with 2, any client that kept a
    server session across transactions would starve (or deadlock) the others.
    """

    def __init__(
        self, upstream_port: int, pool_size: int = 2, pool_mode: str = "transaction", host: str = "127.0.0.1"
    ) -> None:
        self.binary = require_binary("pgbouncer")
        self.upstream_host = host
        self.upstream_port = upstream_port
        self.pool_size = pool_size
        self.pool_mode = pool_mode
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="docket-pgbouncer-"))
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url_for(self, direct_url: str) -> str:
        """The same database as ``direct_url``, through the pooler."""
        return self.url(psycopg.conninfo.conninfo_to_dict(direct_url)["dbname"])  # type: ignore[arg-type]

    def start(self) -> PgBouncer:
        self.dir.chmod(0o755)
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={self.upstream_host} port={self.upstream_port} user=postgres\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'userlist.txt'}\nadmin_users = postgres\n"
            f"pool_mode = {self.pool_mode}\ndefault_pool_size = {self.pool_size}\n"
            "max_client_conn = 500\nreserve_pool_size = 0\nserver_check_delay = 0\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
        )
        for name in ("userlist.txt", "pgbouncer.ini"):
            (self.dir / name).chmod(0o644)
        if _as_nobody():
            os.chown(self.dir, _nobody_uid(), -1)
        try:
            argv = [*_as_nobody(), self.binary, str(self.dir / "pgbouncer.ini")]
            self.process = spawn_listening(argv, self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"PgBouncer did not listen: {self.log()[-2000:]}") from None
        return self

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "pgbouncer.log").read_text(errors="replace")
        return ""

    def show(self, what: str) -> list[dict[str, Any]]:
        """``SHOW <what>`` on the admin console (POOLS, CLIENTS, SERVERS, STATS)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True, row_factory=dict_row) as conn:
            # the console speaks only the simple query protocol, which psycopg uses without parameters
            return conn.execute(f"SHOW {what}", prepare=False).fetchall()  # type: ignore[arg-type]

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _nobody_uid() -> int:
    import pwd

    return pwd.getpwnam("nobody").pw_uid


class RedisNode:
    """One ``redis-server`` (optionally a replica of ``master_port``) on loopback."""

    def __init__(self, directory: Path, master_port: int | None = None) -> None:
        self.binary = require_binary("redis-server")
        self.port = free_port()
        self.dir = directory / f"redis-{self.port}"
        self.master_port = master_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisNode:
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = redis_argv(self.binary, self.port, self.dir)
        if self.master_port:
            argv += ["--replicaof", "127.0.0.1", str(self.master_port)]
        self.process = spawn_listening(argv, self.port)
        return self

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, as a crashed pod does."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        stop_process(self.process)


class SentinelGroup:
    """A master, one replica and three Sentinels (quorum 2) that fail over one second after a loss."""

    MASTER_NAME = "docket"

    def __init__(self, down_after_ms: int = 1000) -> None:
        self.sentinel_binary = require_binary("redis-sentinel")
        self.dir = Path(tempfile.mkdtemp(prefix="docket-sentinel-"))
        self.down_after_ms = down_after_ms
        self.master = RedisNode(self.dir)
        self.replica: RedisNode | None = None
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def start(self) -> SentinelGroup:
        self.master.start()
        self.replica = RedisNode(self.dir, master_port=self.master.port).start()
        self.wait_replicated()
        for port in self.sentinel_ports:
            config = self.dir / f"sentinel-{port}.conf"  # Sentinel rewrites its file: it must be writable
            config.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {self.dir}\n"
                f"sentinel monitor {self.MASTER_NAME} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER_NAME} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.MASTER_NAME} 10000\n"
                f"sentinel parallel-syncs {self.MASTER_NAME} 1\n"
            )
            self.sentinels.append(spawn_listening([self.sentinel_binary, str(config)], port))
        self.wait_for_sentinels_to_agree()
        return self

    def wait_replicated(self, timeout: float = 20) -> None:
        assert self.replica is not None
        client = redis.Redis(port=self.replica.port)
        try:
            deadline = time.monotonic() + timeout
            while client.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis replica did not connect to its master")
                time.sleep(0.05)
        finally:
            client.close()

    def wait_for_sentinels_to_agree(self, timeout: float = 20) -> None:
        """Every Sentinel knows the others and the replica, so a failover can start at once."""
        deadline = time.monotonic() + timeout
        while True:
            states = [self._sentinel_view(port) for port in self.sentinel_ports]
            if all(s and int(s["num-other-sentinels"]) == 2 and int(s["num-slaves"]) >= 1 for s in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Sentinels did not find each other: {states}")
            time.sleep(0.1)

    def _sentinel_view(self, port: int) -> dict[str, Any] | None:
        client = redis.Redis(port=port, decode_responses=True, socket_timeout=1)
        try:
            return client.sentinel_master(self.MASTER_NAME)  # type: ignore[no-any-return]
        except redis.RedisError:
            return None
        finally:
            client.close()

    def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers sees it."""
        for port in self.sentinel_ports:
            client = redis.Redis(port=port, decode_responses=True, socket_timeout=1)
            try:
                address = client.sentinel_get_master_addr_by_name(self.MASTER_NAME)
                return int(address[1]) if address else None
            except redis.RedisError:
                continue
            finally:
                client.close()
        return None

    def stop(self) -> None:
        for process in self.sentinels:
            stop_process(process)
        for node in (self.master, self.replica):
            if node is not None:
                node.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running(server: Any) -> Iterator[Any]:
    """Start ``server`` and stop it however the block ends."""
    try:
        yield server.start()
    finally:
        server.stop()


def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; a generous deadline that only proves nothing hung."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)

"""`make dev`: embedded PostgreSQL and Redis, migrations, then the api, worker and web on loopback.

Ctrl-C (or SIGTERM) stops the three services gracefully, then Redis and PostgreSQL.
Data persists between runs in .dev/ (or under /var/tmp when run as root, which PostgreSQL refuses).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from embedded_services import EmbeddedPostgres, EmbeddedRedis, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVICES = [
    ("api", ["docket-api", "serve"], 8000),
    ("worker", ["docket-worker", "run"], 9000),
    ("web", ["docket-web", "serve"], 8080),
]


def data_root() -> Path:
    if os.geteuid() == 0:
        return Path("/var/tmp") / f"docket-dev-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
    return ROOT / ".dev"


def main() -> int:
    root = data_root()
    (root / "pgdata").mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(data_dir=root / "pgdata", port=int(os.environ.get("DEV_PG_PORT", "55432"))).start()
    redis = EmbeddedRedis(port=int(os.environ.get("DEV_REDIS_PORT", "56379"))).start()
    env = {
        **os.environ,
        "ENVIRONMENT": "local",
        "DATABASE_URL": pg.url(),
        "REDIS_URL": redis.url(),
        "API_URL": "http://127.0.0.1:8000",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "SHUTDOWN_GRACE_SECONDS": "5",
    }
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        subprocess.run([str(BIN / "docket-api"), "migrate"], env=env, check=True)
        for _name, argv, port in SERVICES:
            children.append(subprocess.Popen([str(BIN / argv[0]), *argv[1:]], env={**env, "PORT": str(port)}))
            wait_for_port(port, timeout=30)
        print(
            "\nDocket is running:\n"
            "  web      http://127.0.0.1:8080/\n"
            "  api      http://127.0.0.1:8000/api/v1  (docs: http://127.0.0.1:8000/api/docs)\n"
            "  worker   http://127.0.0.1:9000/readyz  (metrics on /metrics of each service)\n"
            f"  postgres {pg.url('postgres')}\n"
            f"  redis    {redis.url()}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        redis.stop()
        pg.stop()
        print("Docket stopped.", flush=True)
    failed = [child.returncode for child in children if child.returncode not in (0, None, -signal.SIGTERM)]
    return 1 if failed and not stopping else 0


if __name__ == "__main__":
    sys.exit(main())

"""SIGTERM: readiness turns false, live status streams end at once, and the process exits 0."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import httpx
from embedded_services import free_port
from servers import cli, service_process
from webkit import Browser


def test_sigterm_ends_open_event_streams_and_exits_zero(
    serve_api: Callable[..., str], clean_redis: str
) -> None:
    api = serve_api()
    port, management_port = free_port(), free_port()
    env = {
        "PORT": str(port),
        "MANAGEMENT_PORT": str(management_port),
        "API_URL": api,
        "REDIS_URL": clean_redis,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_GRACE_SECONDS": "20",
    }
    with service_process([*cli("docket-web"), "serve"], env, port) as process:
        web = f"http://127.0.0.1:{port}"
        with Browser(web) as browser:
            browser.sign_up()
            created = browser.upload_streamed(
                "wait.txt", b"This document waits for a worker that never comes."
            )
            assert created.status_code == 201
            events: list[str] = []
            opened = threading.Event()

            def listen() -> None:
                url = f"/events?id={created.json()['document_id']}"
                with browser.stream("GET", url, timeout=30) as response:
                    for line in response.iter_lines():
                        if line.startswith("event:"):
                            events.append(line[6:].strip())
                            opened.set()

            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            assert opened.wait(10)
            assert httpx.get(f"http://127.0.0.1:{management_port}/readyz").status_code == 200
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            listener.join(10)
            assert not listener.is_alive(), "the open stream kept the process from stopping"
            assert events[-1] == "end"
            assert process.wait(15) == 0
            assert time.monotonic() - started < 10, "shutdown waited for the grace period"

"""Open-loop HTTP load: requests at a constant arrival rate, latency from each one's intended send time.

wrk (closed loop) sends a connection's next request only when the previous answer is in, so when the
server stalls, the requests that would have arrived meanwhile are never sent and their wait is never
measured (coordinated omission). Here request ``i`` is due at ``start + i / rate`` whatever happened
before; it waits in a queue for one of ``connections`` keep-alive connections, and its latency runs
from when it was due to when its whole answer was read. Run as a process, as wrk is, so its CPU is
its own: ``python -m bench.openloop URL RATE SECONDS CONNECTIONS TARGETS_JSON`` prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.stats import percentile
from bench.wrk import Target


@dataclass(frozen=True)
class OpenLoopResult:
    """One open-loop run: the rate asked and achieved, latency percentiles (ms), failures."""

    rate: float
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    requests: int
    failed: int
    late_sends: int
    client_cpu_seconds: float


def _request(host: str, target: Target) -> bytes:
    lines = [
        f"GET {target.path} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in target.headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


Due = tuple[float, bytes]  # (when the request was due, the request)
Done = tuple[float, float, int]  # (due, answered, status)


async def _connection(host: str, port: int, queue: asyncio.Queue[Due | None], done: list[Done]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (item := await queue.get()) is not None:
            due, request = item
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            done.append((due, time.perf_counter(), status))
    finally:
        writer.close()


async def _run(
    url: str, rate: float, seconds: float, connections: int, targets: Sequence[Target]
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [_request(f"{host}:{port}", target) for target in targets]
    queue: asyncio.Queue[Due | None] = asyncio.Queue()
    done: list[Done] = []
    workers = [asyncio.create_task(_connection(host, port, queue, done)) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connections open before the clock starts
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    late = 0
    for i in range(total):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.005:
            late += 1  # the generator itself fell behind; the latency still counts from `due`
        queue.put_nowait((due, requests[i % len(requests)]))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers, return_exceptions=True), timeout=seconds + 60)
    latencies = sorted((end - due) * 1000 for due, end, _ in done)
    elapsed = max((end for _, end, _ in done), default=start) - start
    return {
        "rate": rate,
        "achieved_rps": len(done) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "p999_ms": percentile(latencies, 99.9),
        "max_ms": latencies[-1] if latencies else 0.0,
        "requests": len(done),
        "failed": total - len(done) + sum(1 for _, _, status in done if not 200 <= status < 300),
        "late_sends": late,
    }


def run(
    url: str, targets: Sequence[Target], rate: float, seconds: float, connections: int = 64
) -> OpenLoopResult:
    """One open-loop run in a child process; its CPU is measured as wrk's is."""
    spec = json.dumps([{"path": t.path, "headers": dict(t.headers)} for t in targets])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "bench.openloop", url, str(rate), str(seconds), str(connections), spec],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return OpenLoopResult(**json.loads(out), client_cpu_seconds=cpu)


def main() -> None:
    url, rate, seconds, connections, spec = sys.argv[1:6]
    targets = [Target(t["path"], t["headers"]) for t in json.loads(spec)]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_run(url, float(rate), float(seconds), int(connections), targets))))


if __name__ == "__main__":
    main()

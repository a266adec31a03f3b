"""The database's ceiling: the same query through pgbench, with matched clients, threads and duration."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.stats import percentile
from bench.wrk import LoadResult, run_measured


def run(
    bin_dir: Path, port: int, scripts: Sequence[str], *, clients: int, threads: int, seconds: float
) -> LoadResult:
    """Run each SQL script with equal weight, prepared (psycopg prepares repeated queries too)."""
    with tempfile.TemporaryDirectory(prefix="docket-bench-pgbench-") as tmp:
        files = []
        for n, sql in enumerate(scripts):
            path = Path(tmp) / f"q{n}.sql"
            path.write_text(sql.rstrip().rstrip(";") + ";\n")
            files += ["-f", f"{path}@1"]
        command = [
            str(bin_dir / "pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-n",
            "-M", "prepared", "-c", str(clients), "-j", str(threads), "-T", str(max(round(seconds), 1)),
            "-l", f"--log-prefix={tmp}/log", *files, "postgres",
        ]  # fmt: skip
        code, output, client_cpu = run_measured(command, Path(tmp))
        if code != 0:
            raise RuntimeError(f"pgbench failed: {output}")
        latencies_us = []
        for log in Path(tmp).glob("log.*"):
            for line in log.read_text().splitlines():
                latencies_us.append(int(line.split()[2]))
    tps = float(_figure(r"tps = ([\d.]+) \(without initial connection time\)", output))
    failed = int(_figure(r"number of failed transactions: (\d+)", output, "0"))
    latencies_us.sort()
    return LoadResult(
        rps=tps,
        p50_ms=percentile(latencies_us, 50) / 1000,
        p90_ms=percentile(latencies_us, 90) / 1000,
        p99_ms=percentile(latencies_us, 99) / 1000,
        max_ms=(latencies_us[-1] if latencies_us else 0) / 1000,
        requests=len(latencies_us),
        errors=failed,
        non_2xx=0,
        seconds=seconds,
        client_cpu_seconds=client_cpu,
    )


def _figure(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match:
        return match.group(1)
    if default is not None:
        return default
    raise RuntimeError(f"pgbench printed no {pattern!r}:\n{text}")

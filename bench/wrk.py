"""HTTP load with wrk: a generated Lua script rotates paths and bearer tokens and writes JSON figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_LUA = """
local targets = {%(targets)s}
local prepared = {}
local n = 0

function init(args)
  for i, t in ipairs(targets) do prepared[i] = wrk.format("GET", t[1], t[2]) end
  n = math.random(#prepared) - 1
end

function request()
  n = n %% #prepared + 1
  return prepared[n]
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = assert(io.open(%(out)s, "w"))
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "p999_us": %%d, ' ..
    '"max_us": %%d, "mean_us": %%.1f}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
  out:close()
end
"""


@dataclass(frozen=True)
class Target:
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    """One wrk run: throughput, latency percentiles (ms), errors, and the CPU wrk itself used."""

    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    non_2xx: int
    seconds: float
    client_cpu_seconds: float

    @property
    def failed(self) -> int:
        return self.errors + self.non_2xx


def _lua_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def lua_script(targets: Sequence[Target], out: Path) -> str:
    entries = []
    for target in targets:
        headers = ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in target.headers.items())
        entries.append(f"{{{_lua_str(target.path)}, {{{headers}}}}}")
    return _LUA % {"targets": ",\n  ".join(entries), "out": _lua_str(str(out))}


def run_measured(command: Sequence[str], workdir: Path) -> tuple[int, str, float]:
    """Run ``command`` to completion; its exit code, its output, and the CPU seconds it used."""
    with (workdir / "output.txt").open("w+b") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        _, status, rusage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return process.returncode, out.read().decode(errors="replace"), rusage.ru_utime + rusage.ru_stime


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: `apt-get install wrk` (make bench does this)")
    return found


def run(
    base_url: str, targets: Sequence[Target], *, connections: int, threads: int, seconds: float
) -> LoadResult:
    """Run wrk for ``seconds`` against ``base_url`` with ``connections`` keep-alive connections."""
    wrk = require_wrk()
    with tempfile.TemporaryDirectory(prefix="docket-bench-wrk-") as tmp:
        script, out = Path(tmp) / "load.lua", Path(tmp) / "result.json"
        script.write_text(lua_script(targets, out))
        command = [
            wrk, f"-t{threads}", f"-c{connections}", f"-d{max(round(seconds), 1)}s", "--timeout", "10s",
            "-s", str(script), base_url,
        ]  # fmt: skip
        code, output, client_cpu = run_measured(command, Path(tmp))
        if code != 0 or not out.exists():
            raise RuntimeError(f"wrk failed ({code}): {output}")
        figures = json.loads(out.read_text())
    seconds_run = figures["duration_us"] / 1e6
    return LoadResult(
        rps=figures["requests"] / seconds_run,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        requests=figures["requests"],
        errors=figures["connect"] + figures["read"] + figures["write"] + figures["timeout"],
        non_2xx=figures["status"],
        seconds=seconds_run,
        client_cpu_seconds=client_cpu,
    )

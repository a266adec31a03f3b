"""The extraction sandbox's limits, environment and clean-up, each hit by a real child process.

Each test runs files through the same ``Sandbox`` the worker uses, whose zygote is
``sandbox_probe.py``: a new interpreter started the same way, forking children that go through
child.py's ``become_child`` under the same limits. Only the parsing step is swapped for a probe that
does what a hostile file could make a parser do.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import uvloop
from prometheus_client import REGISTRY

from docket_core.settings import SettingsError, load_settings
from docket_worker.processing.extract import MAX_TEXT_CHARS, Extracted, ExtractionError
from docket_worker.processing.sandbox import (
    MAX_REPORT_BYTES,
    Sandbox,
    SandboxLimits,
    SandboxUnavailableError,
)
from docket_worker.settings import WorkerSettings

PROBE = (str(Path(__file__).with_name("sandbox_probe.py")),)
MiB = 1024 * 1024
LIMITS = SandboxLimits(wall_seconds=30, cpu_seconds=30, memory_bytes=512 * MiB)
SECRETS = {
    "DATABASE_URL": "postgresql://docket:db-password-1f0e@db:5432/docket",
    "REDIS_URL": "redis://:redis-password-9a7b@redis:6379/0",
    "JWT_SECRET": "jwt-secret-that-must-never-reach-a-parser-0123",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-5c4d",
}


def _probe(
    tmp_path: Path, action: str, limits: SandboxLimits = LIMITS, loop: str = "asyncio", **order: Any
) -> Extracted:
    """Run the probe on asyncio's own loop, or on uvloop's, the one the worker serves on."""
    path = tmp_path / f"{action}.json"
    path.write_text(json.dumps({"action": action, **order}))

    async def in_a_child() -> Extracted:
        async with Sandbox(PROBE) as sandbox:
            return await sandbox.extract(path, "text/plain", limits)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop if loop == "uvloop" else None) as runner:
        return runner.run(in_a_child())


def _refused(tmp_path: Path, action: str, limits: SandboxLimits = LIMITS, **order: Any) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        _probe(tmp_path, action, limits, **order)
    return caught.value


def _counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("docket_sandbox_outcomes_total", {"outcome": outcome}) or 0.0


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_child_sees_an_empty_environment_while_the_worker_holds_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    facts = json.loads(_probe(tmp_path, "inside").text)
    assert facts["proc_environ"] == "", "the child was started with an environment"
    # Python itself may add LC_CTYPE when it coerces the C locale; nothing else may be there
    assert set(facts["os_environ"]) <= {"LC_CTYPE"}, facts["os_environ"]
    for value in SECRETS.values():
        assert value not in json.dumps(facts)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_child_runs_under_its_limits_in_a_session_of_its_own_with_only_its_pipes(
    tmp_path: Path, loop: str
) -> None:
    limits = SandboxLimits(wall_seconds=30, cpu_seconds=7, memory_bytes=300 * MiB)
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)  # a descriptor the worker holds without close-on-exec
    try:
        facts = json.loads(_probe(tmp_path, "inside", limits, loop).text)
    finally:
        os.close(leaked)
    assert facts["limits"] == {
        "as": [300 * MiB, 300 * MiB],
        "cpu": [7, 8],  # SIGXCPU at 7 s, SIGKILL at 8 s if the child catches SIGXCPU
        "nofile": [limits.open_files, limits.open_files],
        "fsize": [0, 0],
        "core": [0, 0],
        "nproc": [0, 0],
    }
    assert facts["niceness"] == min(os.nice(0) + 10, 19)
    assert facts["session_leader"], "the child leads its own session, so its whole group can be killed"
    # stdout (now a copy of stderr), stderr, the report pipe, and listdir's own descriptor: stdin, the
    # file, was read and closed; nothing else came along, not even what uvloop's spawn leaves open
    assert len(facts["open_fds"]) == 4, f"descriptors in the child: {facts['open_fds']}"
    assert os.devnull not in facts["open_fds"].values()


def test_a_parser_spinning_on_the_cpu_is_stopped_at_the_cpu_limit(tmp_path: Path) -> None:
    before = _counted("cpu")
    refusal = _refused(
        tmp_path, "spin", SandboxLimits(wall_seconds=60, cpu_seconds=1, memory_bytes=512 * MiB)
    )
    assert refusal.outcome == "cpu"
    assert refusal.reason == "Processing used more than 1 seconds of CPU time."
    assert _counted("cpu") == before + 1


def test_a_parser_that_waits_is_killed_at_the_wall_clock_deadline(tmp_path: Path) -> None:
    before = _counted("timeout")
    refusal = _refused(
        tmp_path, "sleep", SandboxLimits(wall_seconds=1, cpu_seconds=60, memory_bytes=512 * MiB)
    )
    assert refusal.outcome == "timeout"
    assert "longer than 1 seconds" in refusal.reason
    assert _counted("timeout") == before + 1


def test_allocating_past_the_address_space_limit_fails_as_memory(tmp_path: Path) -> None:
    refusal = _refused(tmp_path, "allocate", SandboxLimits(30, 30, 256 * MiB), bytes=1024 * MiB)
    assert (refusal.outcome, refusal.reason) == ("memory", "The file needs too much memory to process.")


def test_opening_too_many_files_fails_with_a_clear_reason(tmp_path: Path) -> None:
    refusal = _refused(tmp_path, "open_files")
    assert (refusal.outcome, refusal.reason) == ("files", "Processing the file tried to open too many files.")


def test_writing_a_file_fails_with_a_clear_reason(tmp_path: Path) -> None:
    refusal = _refused(tmp_path, "write_file")
    assert (refusal.outcome, refusal.reason) == ("disk", "Processing the file tried to write to disk.")


def test_a_report_over_the_size_bound_is_cut_off_and_the_child_killed(tmp_path: Path) -> None:
    refusal = _refused(tmp_path, "flood", chars=MAX_REPORT_BYTES + MiB)
    assert refusal.outcome == "output"


def test_a_report_with_fields_over_their_bounds_is_not_believed(tmp_path: Path) -> None:
    assert _refused(tmp_path, "flood", chars=MAX_TEXT_CHARS + 1).outcome == "crash"
    assert _refused(tmp_path, "forge_title", chars=10_000).outcome == "crash"


def test_a_crashing_parser_fails_as_a_crash(tmp_path: Path) -> None:
    refusal = _refused(tmp_path, "abort")
    assert (refusal.outcome, refusal.reason) == ("crash", "The file crashed the parser.")


def test_what_a_parser_prints_never_reaches_the_report(tmp_path: Path) -> None:
    result = _probe(tmp_path, "print_then_answer", chars=2 * MiB)  # more than a pipe holds: drained
    assert result == Extracted("the real answer", None, None, 3)


def test_a_process_the_child_starts_does_not_outlive_it(tmp_path: Path) -> None:
    facts = json.loads(_probe(tmp_path, "fork").text)
    if facts["forked"] is None:  # RLIMIT_NPROC refused the fork (as it does for every user but root)
        return
    assert _wait_gone(facts["forked"]), "the grandchild survived the child's session"


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent and _alive(int(entry)):
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


async def _running_child(sandbox: Sandbox) -> int:
    """The pid of the one child the sandbox's zygote runs, once it runs."""
    deadline = time.monotonic() + 20
    while True:
        zygote = sandbox.zygote_pid
        if zygote is not None and (children := _children_of(zygote)):
            return children[0]
        assert time.monotonic() < deadline, "the child never started"
        await asyncio.sleep(0.05)


def test_cancelling_the_job_kills_the_child_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sleep.json"
    path.write_text(json.dumps({"action": "sleep"}))

    async def scenario() -> int:
        async with Sandbox(PROBE) as sandbox:
            job = asyncio.create_task(sandbox.extract(path, "text/plain", LIMITS))
            child = await _running_child(sandbox)
            job.cancel()  # as the runner does on SIGTERM after its grace period
            with pytest.raises(asyncio.CancelledError):
                await job
            # SIGKILL is sent before the job ends, but the kernel takes the child down a moment later
            # (CI once looked within that moment); the child would otherwise sleep for an hour
            deadline = time.monotonic() + 5
            while _alive(child):
                assert time.monotonic() < deadline, "the child outlived its cancelled job"
                await asyncio.sleep(0.01)
            return child

    asyncio.run(scenario())


def test_a_job_cancelled_before_the_zygote_names_its_child_still_kills_the_child(tmp_path: Path) -> None:
    """The cancel lands while the job waits for the child's pid (CI once saw it there): the child is
    killed once the zygote reports it, instead of sleeping for an hour."""
    path = tmp_path / "sleep.json"
    path.write_text(json.dumps({"action": "sleep"}))

    async def scenario() -> int | None:
        async with Sandbox(PROBE) as sandbox:
            job = asyncio.create_task(sandbox.extract(path, "text/plain", LIMITS))
            await asyncio.sleep(0)  # the fork is asked for; its pid has not come back yet
            assert sandbox._zygote is not None
            [child] = sandbox._zygote.children.values()
            assert not child.pid.done()
            job.cancel()
            with pytest.raises(asyncio.CancelledError):
                await job
            # the zygote reports the pid, then reaps the child: killed, not asleep for an hour
            return await asyncio.wait_for(asyncio.shield(child.exit), 10)

    assert asyncio.run(scenario()) == -signal.SIGKILL


def test_a_zygote_that_dies_takes_no_file_down_with_it_and_is_started_again(tmp_path: Path) -> None:
    sleeper = tmp_path / "sleep.json"
    sleeper.write_text(json.dumps({"action": "sleep"}))
    answer = tmp_path / "inside.json"
    answer.write_text(json.dumps({"action": "inside"}))

    async def scenario() -> None:
        async with Sandbox(PROBE) as sandbox:
            job = asyncio.create_task(sandbox.extract(sleeper, "text/plain", LIMITS))
            child = await _running_child(sandbox)
            zygote = sandbox.zygote_pid
            assert zygote is not None
            os.kill(zygote, signal.SIGKILL)
            with pytest.raises(SandboxUnavailableError):  # not the file's fault: the job is retried
                await job
            assert _wait_gone(child), "the orphaned child was not killed"
            result = await sandbox.extract(answer, "text/plain", LIMITS)
            assert sandbox.zygote_pid not in (None, zygote), "a new zygote took over"
            assert json.loads(result.text)["session_leader"]

    asyncio.run(scenario())


def test_closing_the_sandbox_ends_the_zygote_and_its_children(tmp_path: Path) -> None:
    path = tmp_path / "sleep.json"
    path.write_text(json.dumps({"action": "sleep"}))

    async def scenario() -> tuple[int, int]:
        sandbox = Sandbox(PROBE)
        job = asyncio.create_task(sandbox.extract(path, "text/plain", LIMITS))
        child = await _running_child(sandbox)
        zygote = sandbox.zygote_pid
        assert zygote is not None
        await sandbox.aclose()  # the worker's shutdown, after its grace period
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
        return zygote, child

    zygote, child = asyncio.run(scenario())
    assert _wait_gone(child), "the child outlived the sandbox"
    assert _wait_gone(zygote), "the zygote outlived the sandbox"


def test_the_event_loop_keeps_turning_while_children_spin(tmp_path: Path) -> None:
    limits = SandboxLimits(wall_seconds=30, cpu_seconds=2, memory_bytes=512 * MiB)
    path = tmp_path / "spin.json"
    path.write_text(json.dumps({"action": "spin"}))

    async def scenario() -> float:
        gaps = [0.0]

        async def tick() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        async with Sandbox(PROBE) as sandbox:
            outcomes = await asyncio.gather(
                *(sandbox.extract(path, "text/plain", limits) for _ in range(4)), return_exceptions=True
            )
        ticker.cancel()
        assert all(isinstance(o, ExtractionError) and o.outcome == "cpu" for o in outcomes), outcomes
        return max(gaps)

    assert asyncio.run(scenario()) < 1.0, "the loop stalled while it waited for the children"


def test_the_cpu_limit_defaults_to_the_timeout_and_bad_limits_are_refused_by_name() -> None:
    limits = SandboxLimits.from_settings(
        load_settings(WorkerSettings, {"WORKER_EXTRACT_TIMEOUT_SECONDS": "2.5"})
    )
    assert (limits.wall_seconds, limits.cpu_seconds) == (2.5, 3)
    chosen = load_settings(
        WorkerSettings, {"WORKER_EXTRACT_CPU_SECONDS": "7", "WORKER_EXTRACT_MEMORY_MB": "256"}
    )
    assert SandboxLimits.from_settings(chosen) == SandboxLimits(60.0, 7, 256 * MiB, ocr=chosen.ocr_options())
    for name, value in [
        ("WORKER_EXTRACT_CPU_SECONDS", "-1"),
        ("WORKER_EXTRACT_TIMEOUT_SECONDS", "0"),
        ("WORKER_EXTRACT_MEMORY_MB", "64"),
        ("OCR_LANGUAGES", "eng;rm -rf"),
        ("OCR_MAX_PAGES", "0"),
        ("OCR_DPI", "5000"),
        ("OCR_PAGE_TIMEOUT_SECONDS", "0"),
        ("OCR_ENABLED", "maybe"),
    ]:
        with pytest.raises(SettingsError, match=name):
            load_settings(WorkerSettings, {name: value})

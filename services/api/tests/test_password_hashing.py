"""Password hashing: slots sized from the cgroup's memory limit, and excess requests refused with 503."""

from __future__ import annotations

from pathlib import Path

import anyio

from docket_api.domain.auth.passwords import HASH_MEMORY_BYTES, PasswordHashing, hashing_slots
from docket_api.server.memory_limit import (
    cgroup_memory_limit_bytes,
    memory_limit_bytes,
    physical_memory_bytes,
)
from docket_core.http.problems import Problem

MIB = 2**20


def _cgroup_tree(root: Path, files: dict[str, str], proc_self_cgroup: str) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc = root / "proc-self-cgroup"
    proc.write_text(proc_self_cgroup)
    return proc


def test_cgroup_v2_limit_of_the_container_is_read(tmp_path: Path) -> None:
    # inside a pod the cgroup namespace shows the container's cgroup as "/"
    proc = _cgroup_tree(tmp_path, {"memory.max": f"{512 * MIB}\n"}, "0::/\n")
    assert cgroup_memory_limit_bytes(tmp_path, proc) == 512 * MIB
    assert memory_limit_bytes(tmp_path, proc) == 512 * MIB


def test_cgroup_v2_takes_the_tightest_limit_along_the_path(tmp_path: Path) -> None:
    files = {"memory.max": "max\n", "kubepods/memory.max": f"{4096 * MIB}\n",
             "kubepods/pod1/ctr/memory.max": f"{768 * MIB}\n"}  # fmt: skip
    proc = _cgroup_tree(tmp_path, files, "0::/kubepods/pod1/ctr\n")
    assert cgroup_memory_limit_bytes(tmp_path, proc) == 768 * MIB


def test_cgroup_v1_limit_is_read_and_its_unlimited_value_ignored(tmp_path: Path) -> None:
    limited = _cgroup_tree(
        tmp_path / "a", {"memory/docker/c1/memory.limit_in_bytes": f"{256 * MIB}\n"},
        "5:memory:/docker/c1\n4:cpu,cpuacct:/docker/c1\n",
    )  # fmt: skip
    assert cgroup_memory_limit_bytes(tmp_path / "a", limited) == 256 * MIB
    unlimited = _cgroup_tree(
        tmp_path / "b", {"memory/memory.limit_in_bytes": "9223372036854771712\n"}, "5:memory:/\n"
    )
    assert cgroup_memory_limit_bytes(tmp_path / "b", unlimited) is None
    assert memory_limit_bytes(tmp_path / "b", unlimited) == physical_memory_bytes()


def test_no_cgroup_files_means_the_machines_memory(tmp_path: Path) -> None:
    proc = _cgroup_tree(tmp_path, {}, "0::/user.slice\n")
    assert memory_limit_bytes(tmp_path, proc) == physical_memory_bytes()
    assert 0 < memory_limit_bytes() <= physical_memory_bytes()


def test_slots_fit_a_quarter_of_the_limit_per_server_process() -> None:
    assert HASH_MEMORY_BYTES == 64 * MIB
    assert hashing_slots(512 * MIB) == 2  # the chart's API pod
    assert hashing_slots(512 * MIB, workers=2) == 1
    assert hashing_slots(64 * MIB) == 1, "always at least one"
    assert hashing_slots(8192 * MIB) == 32


def test_hash_and_verify_round_trip_off_the_event_loop() -> None:
    async def main() -> None:
        hashing = PasswordHashing(slots=1, wait_seconds=30)
        stored = await hashing.hash("correct horse battery")
        assert stored.startswith("$argon2id$")
        assert await hashing.verify(stored, "correct horse battery")
        assert not await hashing.verify(stored, "wrong")
        assert not await hashing.verify(None, "correct horse battery")
        assert not await hashing.verify("not a hash", "x")

    anyio.run(main)


def test_a_request_that_finds_every_slot_taken_past_the_wait_gets_503_with_retry_after() -> None:
    outcomes: list[object] = []

    async def check(hashing: PasswordHashing) -> None:
        try:
            outcomes.append(await hashing.verify(None, "guess"))
        except Problem as problem:
            outcomes.append(problem)

    async def main() -> None:
        hashing = PasswordHashing(slots=1, wait_seconds=0)
        async with anyio.create_task_group() as group:
            group.start_soon(check, hashing)
            group.start_soon(check, hashing)

    anyio.run(main)
    assert False in outcomes, "the first request got the slot and was checked"
    (refused,) = [outcome for outcome in outcomes if outcome is not False]
    assert isinstance(refused, Problem)
    assert refused.status_code == 503
    assert refused.slug == "password-hashing-busy"
    assert refused.headers == {"Retry-After": "1"}


def test_waiting_requests_take_their_turn_within_the_wait() -> None:
    results: list[bool] = []

    async def main() -> None:
        hashing = PasswordHashing(slots=1, wait_seconds=60)
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(lambda: _append(hashing))

    async def _append(hashing: PasswordHashing) -> None:
        results.append(await hashing.verify(None, "guess"))

    anyio.run(main)
    assert results == [False, False, False]

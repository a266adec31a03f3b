"""How much memory this process may use: its cgroup's limit (v2 or v1), else the machine's memory.

The API sizes its password-hashing slots from this, so a pod's limit, not the node's memory,
decides how many 64 MiB argon2 hashes may run at once.
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
# cgroup v1 reports "no limit" as a huge page-aligned number (2^63 - 4096 on 64-bit kernels)
V1_UNLIMITED_FROM = 1 << 62


def physical_memory_bytes() -> int:
    """The machine's memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def cgroup_memory_limit_bytes(
    cgroup_root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP
) -> int | None:
    """The tightest memory limit of this process's cgroup and its ancestors, or None if unlimited."""
    try:
        lines = proc_self_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    limits: list[int] = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            limits += _limits_along(cgroup_root, path, "memory.max")
        elif "memory" in controllers.split(","):
            limits += _limits_along(cgroup_root / "memory", path, "memory.limit_in_bytes")
    if not lines:  # no /proc here: read the root files a container would see
        limits += _limits_along(cgroup_root, "/", "memory.max")
        limits += _limits_along(cgroup_root / "memory", "/", "memory.limit_in_bytes")
    return min(limits) if limits else None


def memory_limit_bytes(cgroup_root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> int:
    """The memory this process may use: the cgroup limit when there is one, never more than the machine."""
    physical = physical_memory_bytes()
    limit = cgroup_memory_limit_bytes(cgroup_root, proc_self_cgroup)
    return physical if limit is None else min(limit, physical)


def _limits_along(mount: Path, path: str, filename: str) -> list[int]:
    """The limits in ``filename`` from the cgroup at ``path`` up to the mount's root (as far as visible).

    In a container the cgroup namespace shows the container's own cgroup as "/", so its limit is in
    the mount's root file; on a host the path leads to the process's cgroup below the root.
    """
    found: list[int] = []
    directory = mount / path.strip("/")
    while True:
        value = _read_limit(directory / filename)
        if value is not None:
            found.append(value)
        if directory == mount or mount not in directory.parents:
            return found
        directory = directory.parent


def _read_limit(file: Path) -> int | None:
    try:
        text = file.read_text().strip()
    except OSError:
        return None
    if text in ("", "max"):
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < V1_UNLIMITED_FROM else None

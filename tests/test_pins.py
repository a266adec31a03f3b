"""The committed pins are hashed, carry no registry address, and cover every service."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN_FILES = sorted((ROOT / "requirements").glob("*.txt"))
URL_LIKE = re.compile(r"(://|--index-url|--extra-index-url|--find-links|^-i\s|^-f\s)", re.M)


def test_every_service_and_dev_has_a_pin_file() -> None:
    names = {path.name for path in PIN_FILES}
    assert {
        "api.txt",
        "worker.txt",
        "web.txt",
        "dev.txt",
        "bootstrap.txt",
        "build.txt",
        "pgclient.txt",
    } <= names


def test_no_pin_file_records_a_url() -> None:
    for path in PIN_FILES:
        match = URL_LIKE.search(path.read_text())
        assert match is None, f"{path.name} records a registry address: {match.group(0)!r}"


def test_every_requirement_is_pinned_exactly_with_a_hash() -> None:
    for path in PIN_FILES:
        text = path.read_text()
        requirements = [
            line for line in text.splitlines() if line and not line.startswith((" ", "#", "\t", "-"))
        ]
        assert requirements, f"{path.name} is empty"
        for line in requirements:
            assert "==" in line, f"{path.name}: {line!r} is not pinned exactly"
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
        for block in blocks:
            if block.strip() and not block.startswith("#"):
                assert "--hash=sha256:" in block, f"{path.name}: {block.splitlines()[0]!r} has no hash"


def test_uv_lock_is_not_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "uv.lock"], cwd=ROOT, capture_output=True, check=False
    )
    assert tracked.returncode != 0, "uv.lock records registry URLs and must stay out of git"
    assert "uv.lock" in (ROOT / ".gitignore").read_text()

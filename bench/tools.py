"""Measuring tools that are not in Docket's pins, installed on demand into a scratch directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.stack import ROOT

GRANIAN_VERSION = "2.8.9"
PY_SPY_VERSION = "0.4.3"
TOOLS_DIR = Path(tempfile.gettempdir()) / "docket-bench-tools"


def _uv() -> str | None:
    local = ROOT / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else shutil.which("uv")


def granian_path() -> Path:
    """A directory holding granian (for PYTHONPATH); installed once, never into the project's venv."""
    target = TOOLS_DIR / f"granian-{GRANIAN_VERSION}"
    if not (target / "granian").is_dir():
        _install(f"granian=={GRANIAN_VERSION}", target)
    return target


def py_spy() -> Path:
    """The py-spy executable (for ``make bench PROFILE=1``); installed once into the scratch directory."""
    target = TOOLS_DIR / f"py-spy-{PY_SPY_VERSION}"
    if not (target / "bin" / "py-spy").exists():
        _install(f"py-spy=={PY_SPY_VERSION}", target)
    return target / "bin" / "py-spy"


def _install(spec: str, target: Path) -> None:
    uv = _uv()
    if uv:
        command = [uv, "pip", "install", "-q", "--python", sys.executable, "--target", str(target), spec]
    else:
        command = [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), spec]
    subprocess.run(command, check=True)

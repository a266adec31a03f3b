"""The API keeps the promises of its own OpenAPI document, as schemathesis checks them.

A real `docket-api serve` process with real PostgreSQL and Redis, over HTTP: every phase (examples,
coverage, fuzzing, stateful), every check (`--checks all`), authenticated with a bearer token. The
seed is fixed so CI runs the same cases every time; the number of examples per operation bounds
the run. Logout revokes the token it is sent with, so it runs last, on its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from apikit import api_process, register_and_login

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = str(Path(sys.executable).with_name("st"))
MAX_EXAMPLES = 8
SEED = 1
LOGOUT = "/api/v1/auth/logout"


def _schemathesis(base: str, token: str, workdir: Path, *selection: str) -> str:
    """Run ``st run`` against the live API; returns what it printed, after checking it found nothing."""
    result = subprocess.run(
        [
            SCHEMATHESIS, "--no-color", "--config-file", str(CONFIG), "run", f"{base}/api/openapi.json",
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
            "--request-timeout", "15", *selection,
        ],
        cwd=workdir,  # its .hypothesis and .schemathesis caches stay out of the repository
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    return output


def _tested_every_selected_operation(output: str) -> int:
    selected = re.search(r"Selected: (\d+)/\d+", output)
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert selected, output[-3000:]
    assert tested, output[-3000:]
    assert cases, output[-3000:]
    assert tested.group(1) == selected.group(1), "some operations were never tested"
    assert cases.group(1) == cases.group(2), "every generated case passed"
    return int(cases.group(1))


@pytest.mark.slow
@pytest.mark.timeout(420)  # about a minute and a half on a quiet 2-core machine
def test_the_api_keeps_its_openapi_contract_under_schemathesis(
    clean_db: str, clean_redis: str, tmp_path: Path
) -> None:
    # budgets a fuzzer would spend at once from one address are raised; everything else as deployed
    env = {"LOGIN_MAX_FAILURES": "1000000", "LOGIN_IP_MAX_FAILURES": "1000000", "RATE_LIMIT_USER": "1000000"}
    with api_process(clean_db, clean_redis, **env) as api:
        with httpx.Client(base_url=api.url, timeout=30) as client:
            token = register_and_login(client, "contract@example.com")["access_token"]

        everything_else = _schemathesis(api.url, token, tmp_path, "--exclude-path", LOGOUT)
        assert _tested_every_selected_operation(everything_else) >= 200
        assert "Stateful" in everything_else

        logout = _schemathesis(api.url, token, tmp_path, "--include-path", LOGOUT)
        assert _tested_every_selected_operation(logout) >= 10

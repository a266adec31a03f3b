"""scripts/e2e_check.py against a real API and worker on loopback, with the API's production rate limits.

The kind job cannot run here, so this is where its checks meet a real API: they must speak it correctly,
and together spend only a handful of anonymous requests, since every request the runner sends reaches
the ingress from one address and shares one anonymous bucket of 100 per 15 minutes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from apikit import api_settings
from servers import ThreadedServer, worker_process

from docket_api.app import create_app

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "e2e_check.py"
ANONYMOUS_LIMIT = 100  # RATE_LIMIT_ANONYMOUS's default, as the charts deploy it
USER_LIMIT = 1000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api(make_database: Callable[[bool], str], redis_url: str) -> Iterator[str]:
    """The API with the production limits, and a worker, on a database of their own."""
    database = make_database(True)
    settings = api_settings(
        database, redis_url, rate_limit_anonymous=ANONYMOUS_LIMIT, rate_limit_user=USER_LIMIT
    )
    with ThreadedServer(create_app(settings)) as server, worker_process(database, redis_url):
        yield server.url


def _check(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def _run_load(url: str, out: Path, seconds: float, min_ok: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "load", url, str(out), "--min-ok", str(min_ok)]
    loader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert loader.stdout
    started = loader.stdout.readline()  # once signed in it says so, then requests until SIGTERM
    assert "signed in" in started, started + loader.communicate(timeout=30)[1]
    time.sleep(seconds)
    loader.send_signal(signal.SIGTERM)
    stdout, stderr = loader.communicate(timeout=30)
    return subprocess.CompletedProcess(command, loader.returncode, started + stdout, stderr)


def _anonymous_remaining(url: str) -> int:
    response = httpx.get(f"{url}/api/openapi.json", timeout=10)
    assert response.status_code == 200
    return int(response.headers["RateLimit-Remaining"])


def test_smoke_burst_and_load_each_spend_two_anonymous_requests_and_keep_their_own_counts(
    api: str, clean_redis: str, tmp_path: Path
) -> None:
    smoke = _check("smoke", api)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "uploaded, processed, found and downloaded" in smoke.stdout

    # no ingress here, so no edge 429: the check must fail, and the API must not have limited it
    burst = _check("burst", api)
    assert burst.returncode == 1, burst.stdout + burst.stderr
    assert "0 got 429 at the edge and 0 from the API" in burst.stdout

    load = _run_load(api, tmp_path / "load.json", seconds=3.5, min_ok=3)
    assert load.returncode == 0, load.stdout + load.stderr
    counts = json.loads((tmp_path / "load.json").read_text())
    assert counts["failed"] == 0
    assert counts["ok"] >= 3

    again = _check("smoke", api)
    assert again.returncode == 0, again.stdout + again.stderr

    # four checks, a sign-up and a sign-in each; this request is the ninth anonymous one
    assert _anonymous_remaining(api) == ANONYMOUS_LIMIT - 9


def test_a_load_run_with_too_few_answers_fails(api: str, clean_redis: str, tmp_path: Path) -> None:
    load = _run_load(api, tmp_path / "load.json", seconds=2, min_ok=1000)
    assert load.returncode == 1
    assert "at least 1000 needed" in load.stdout
    assert json.loads((tmp_path / "load.json").read_text())["failed"] == 0


def test_an_unknown_check_prints_the_usage_and_exits_2() -> None:
    result = _check("soak", "https://docket.localhost")
    assert result.returncode == 2
    assert "invalid choice: 'soak'" in result.stderr

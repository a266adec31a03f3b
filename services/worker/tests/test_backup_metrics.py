"""A run's figures: one JSON log line, pushed to a Pushgateway when set; a failed run prunes nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from servers import serving_in_background

from docket_worker.backup.naming import backup_name


class _Recorder(BaseHTTPRequestHandler):
    """Answers like a Pushgateway (200 to PUT and POST) and keeps what it was sent."""

    received: list[tuple[str, str, str]]

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_PUT = _record  # noqa: N815
    do_POST = _record  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def pushgateway() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """A real HTTP server on loopback that records pushes."""
    received: list[tuple[str, str, str]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    with serving_in_background(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}", received


def _metric(body: str, name: str) -> float:
    [line] = [line for line in body.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


def _metrics_line(stdout: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    [metrics] = [line for line in lines if line.get("event") == "backup_metrics"]
    return metrics


def test_a_good_run_logs_one_metrics_line_and_pushes_its_figures(
    kit: Any, small: Any, pushgateway: Any, tmp_path: Path
) -> None:
    url, received = pushgateway
    result = kit.run("backup", "run", env=kit.env(small.url, tmp_path, PUSHGATEWAY_URL=url))
    assert result.returncode == 0, result.stderr
    [dump] = tmp_path.glob("docket-*.dump")
    line = _metrics_line(result.stdout)
    assert line["outcome"] == "succeeded"
    assert line["backup_name"] == dump.name.removesuffix(".dump")
    assert line["dump_size_bytes"] == dump.stat().st_size
    [(method, path, body)] = received
    assert (method, path) == ("PUT", "/metrics/job/docket-backup")
    assert _metric(body, "docket_backup_size_bytes") == dump.stat().st_size
    assert _metric(body, "docket_backup_last_run_success") == 1
    assert _metric(body, "docket_backup_last_success_timestamp_seconds") > 0


def test_a_failed_run_says_why_pushes_a_failure_and_prunes_nothing(
    kit: Any, database_url: str, pushgateway: Any, tmp_path: Path
) -> None:
    url, received = pushgateway
    expired = backup_name(dt.datetime.now(dt.UTC) - dt.timedelta(days=90))
    for suffix in (".dump", ".dump.sha256", ".manifest.json"):
        (tmp_path / f"{expired}{suffix}").write_bytes(b"x")
    before = sorted(p.name for p in tmp_path.iterdir())
    missing = psycopg.conninfo.make_conninfo(database_url, dbname="no_such_database")
    result = kit.run(
        "backup", "run", env=kit.env(missing, tmp_path, PUSHGATEWAY_URL=url, BACKUP_KEEP_MIN="1")
    )
    assert result.returncode == 1
    assert "cannot connect to no_such_database" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert _metrics_line(result.stdout)["outcome"] == "failed"
    [(method, _, body)] = received
    assert method == "POST", "a failure must add to the group, keeping the last success's timestamp"
    assert _metric(body, "docket_backup_last_run_success") == 0


def test_a_pg_dump_path_that_is_not_a_program_is_named_in_the_error(
    kit: Any, small: Any, tmp_path: Path
) -> None:
    result = kit.run("backup", "run", env=kit.env(small.url, tmp_path, PG_DUMP=str(tmp_path / "nope")))
    assert result.returncode == 1
    assert f"PG_DUMP={tmp_path / 'nope'} is not an executable file" in result.stderr
    assert list(tmp_path.iterdir()) == []

"""Prometheus metrics: requests by route template and status, latency, and the pool."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _samples(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{base}/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_requests_are_counted_by_route_template_and_status(api: httpx.Client) -> None:
    base = api.management
    key = ("docket_http_requests_total", (("method", "GET"), ("route", "/api/v1/auth/me"), ("status", "401")))
    before = _samples(base).get(key, 0.0)
    for _ in range(3):
        api.get("/api/v1/auth/me")
    after = _samples(base)
    assert after[key] == before + 3
    assert any(
        name == "docket_http_request_duration_seconds_count" and ("route", "/api/v1/auth/me") in labels
        for name, labels in after
    )
    assert ("docket_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404"))) in (
        _samples(base) if api.get("/nowhere").status_code == 404 else {}
    )


def test_pool_size_in_use_and_waiting_are_exported(api: httpx.Client) -> None:
    base = api.management
    deadline = time.monotonic() + 10
    while True:
        samples = _samples(base)
        if samples.get(("docket_db_pool_size", ()), 0) >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert samples[("docket_db_pool_size", ())] >= 1
    assert ("docket_db_pool_in_use", ()) in samples
    assert ("docket_db_pool_waiting", ()) in samples


def test_metrics_endpoint_uses_the_prometheus_content_type(api: httpx.Client) -> None:
    response = httpx.get(f"{api.management}/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"

"""Upload limits and quotas in the API process itself: their settings, their OpenAPI documentation, and
the counters each refusal adds to. (The abuse scenarios, over real sockets against a real
``docket-api serve``, are in tests/abuse/test_uploads_and_quotas.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import psycopg
import pytest
from apikit import bearer, register_and_login
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from docket_api.domain.documents.quotas import QuotaLimits, Quotas, slots_key
from docket_api.server.lifespan import RELEASE_WAIT_SECONDS
from docket_api.settings import ApiSettings
from docket_core.settings import SettingsError, load_settings

MIB = 1024 * 1024


def _counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_upload_and_quota_defaults_are_the_documented_ones() -> None:
    settings = load_settings(ApiSettings, {})
    assert settings.upload_spool_memory_bytes == MIB
    assert settings.upload_spool_max_bytes == 128 * MIB
    assert settings.upload_min_bytes_per_second == 8192
    assert settings.upload_grace_seconds == 10
    assert settings.upload_max_seconds == 900
    assert settings.quota_stored_bytes == 1024 * MIB
    assert settings.quota_documents == 10_000
    assert settings.quota_uploads_in_flight == 4


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"UPLOAD_MIN_BYTES_PER_SECOND": "-1"}, "UPLOAD_MIN_BYTES_PER_SECOND"),
        ({"UPLOAD_GRACE_SECONDS": "-1"}, "UPLOAD_GRACE_SECONDS"),
        ({"UPLOAD_MAX_SECONDS": "0"}, "UPLOAD_MAX_SECONDS"),
        ({"UPLOAD_SPOOL_MEMORY_BYTES": "-1"}, "UPLOAD_SPOOL_MEMORY_BYTES"),
        ({"QUOTA_DOCUMENTS": "0"}, "QUOTA_DOCUMENTS"),
        ({"QUOTA_UPLOADS_IN_FLIGHT": "7"}, "UPLOAD_SPOOL_MAX_BYTES"),  # 7 x 20 MB > 128 MB
        ({"UPLOAD_SPOOL_MAX_BYTES": str(80 * MIB)}, "UPLOAD_SPOOL_MAX_BYTES"),  # = 4 x 20 MB
        ({"UPLOAD_MAX_SECONDS": "soon"}, "UPLOAD_MAX_SECONDS"),
    ],
)
def test_bad_upload_and_quota_settings_stop_start_up_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(ApiSettings, env)


def test_openapi_documents_each_upload_refusal_and_the_reprocess_conflict(api: httpx.Client) -> None:
    paths = api.get("/api/openapi.json").json()["paths"]
    upload = paths["/api/v1/documents"]["post"]["responses"]
    for status, slugs in {
        "403": ["quota-stored-bytes", "quota-documents"],
        "408": ["upload-too-slow", "upload-too-long"],
        "409": ["duplicate-document"],
        "413": ["file-too-large"],
        "429": ["quota-uploads-in-flight"],
        "503": ["upload-capacity"],
    }.items():
        assert "application/problem+json" in upload[status]["content"], status
        for slug in slugs:
            assert slug in upload[status]["description"], (status, slug)
    reprocess = paths["/api/v1/documents/{document_id}/reprocess"]["post"]["responses"]
    assert "reprocess-already-queued" in reprocess["409"]["description"]


def test_each_refusal_is_counted_by_its_reason(serve_api: Callable[..., str], clean_db: str) -> None:
    base = serve_api(quota_documents=1, max_upload_bytes=1000)
    with httpx.Client(base_url=base, timeout=30) as client:
        auth = bearer(register_and_login(client)["access_token"])

        def send(data: bytes) -> httpx.Response:
            return client.post("/api/v1/documents", files={"file": ("f.txt", data)}, headers=auth)

        before = {
            "too_large": _counter("docket_upload_refusals_total", reason="too_large"),
            "documents": _counter("docket_quota_refusals_total", quota="documents"),
            "reprocess": _counter("docket_quota_refusals_total", quota="reprocess_queued"),
        }
        assert send(b"x" * 1001).status_code == 413
        created = send(b"the one document")
        assert created.status_code == 201
        assert send(b"a second one").status_code == 403
        reprocess = client.post(f"/api/v1/documents/{created.json()['id']}/reprocess", headers=auth)
        assert reprocess.status_code == 409
    assert _counter("docket_upload_refusals_total", reason="too_large") == before["too_large"] + 1
    assert _counter("docket_quota_refusals_total", quota="documents") == before["documents"] + 1
    assert _counter("docket_quota_refusals_total", quota="reprocess_queued") == before["reprocess"] + 1
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (1,)


def test_an_upload_cancelled_at_shutdown_gives_its_slot_back_before_redis_closes(clean_redis: str) -> None:
    """uvicorn cancels the uploads still running when the grace period ends and at once runs the
    lifespan's end, which closes Redis; the lifespan first waits for their slots to be given back."""

    async def shutdown_mid_upload() -> int:
        redis = Redis.from_url(clean_redis)
        quotas = Quotas(QuotaLimits(stored_bytes=1 << 30, documents=100, uploads_in_flight=4), redis)
        uploading = asyncio.Event()

        async def upload() -> None:
            async with quotas.upload_slot("ada"):
                uploading.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(upload())
        await uploading.wait()
        task.cancel()  # what uvicorn does to the request
        async with asyncio.timeout(RELEASE_WAIT_SECONDS):  # what the lifespan does next
            await quotas.all_released()
        await redis.aclose()
        async with Redis.from_url(clean_redis) as fresh:
            return int(await fresh.zcard(slots_key("ada")))

    assert asyncio.run(shutdown_mid_upload()) == 0

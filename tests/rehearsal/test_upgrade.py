"""Scenario 8: upgrades from the previous release (the commit before the newest migration), with its own
charts and images, to this checkout, under load.

The expand steps run in the pre-upgrade hook while the previous release's pods serve, the pods roll,
and the contract steps run in the post-upgrade hook. Done right, no request fails. A contract step
marked expand (the phase rule broken on purpose) must make the previous release's pods fail during
the upgrade, and the rehearsal must see it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from e2e_check import sign_in, wait_processed
from harness.cluster import Cluster
from harness.figures import record
from harness.log import say
from harness.previous import Release, forget, phase_breaking_api_image, previous_release
from harness.render import IMAGE_TAG, ROOT
from harness.traffic import Load, client, mixed_requests, upload

pytestmark = [pytest.mark.slow]
LOAD_RPS = 8.0  # a steady load, well under one API replica's capacity: failures are the schema's doing
CONTRACT_STEP = "0006_documents_in_workspaces.sql"  # drops the trigger the previous release's inserts need


@pytest.fixture(scope="module")
def previous(requirements: None) -> Iterator[Release]:
    release = previous_release()
    say(f"previous release: {release.commit[:10]} (images :{release.tag})")
    try:
        yield release
    finally:
        forget(release)


@pytest.fixture(scope="module")
def before_contract_step(requirements: None) -> Iterator[Release]:
    """The release before CONTRACT_STEP was added: the one its early application would break."""
    release = previous_release(before=CONTRACT_STEP)
    say(f"release before {CONTRACT_STEP}: {release.commit[:10]} (images :{release.tag})")
    try:
        yield release
    finally:
        forget(release)


def _upgrade_under_load(previous: Release, to_tag: str) -> tuple[Cluster, dict[str, Any], list[str]]:
    """Install the previous release, upload with it, then upgrade to ``to_tag`` with this checkout's
    charts under open-loop load; the cluster, the load's summary and the documents seeded before."""
    cluster = Cluster({"global": {"image": {"tag": previous.tag}}}, tree=previous.tree)
    try:
        return _seed_then_upgrade(cluster, to_tag)
    except BaseException:
        cluster.teardown()  # the caller tears down only a cluster it was given
        raise


def _seed_then_upgrade(cluster: Cluster, to_tag: str) -> tuple[Cluster, dict[str, Any], list[str]]:
    cluster.install()
    users = [client(cluster.url) for _ in range(6)]
    uploads: list[tuple[httpx.Client, str]] = []
    try:
        for n, http in enumerate(users):
            sign_in(http, f"upgrade{n}")
        seeded = [upload(http, "before.md", f"# before\n\nseeded {uuid.uuid4()}\n") for http in users]
        assert all(r.status_code == 201 for r in seeded), [r.text for r in seeded]
        seeded_ids = [str(r.json()["id"]) for r in seeded]
        assert wait_processed(users[0], seeded_ids[0]) == "ready"
        load = Load(LOAD_RPS, mixed_requests(f"upgrade{uuid.uuid4().hex[:6]}", uploads), users).start()
        try:
            cluster.upgrade({"global": {"image": {"tag": to_tag}}}, tree=ROOT)
        finally:
            summary = load.stop()
    finally:
        for http in users:
            http.close()
    return cluster, summary, seeded_ids


def _documents_outside_their_owners_personal_workspace(cluster: Cluster) -> int:
    with psycopg.connect(cluster.datastores.database_url()) as conn:
        row = conn.execute(
            """SELECT count(*) FROM documents d
               LEFT JOIN workspaces w ON w.id = d.workspace_id AND w.personal_of = d.owner_id
               WHERE w.id IS NULL"""
        ).fetchone()
    return int(row[0]) if row else -1


@pytest.mark.rehearsal
@pytest.mark.timeout(1500)
def test_8_upgrade_from_the_previous_release_under_load_drops_nothing(previous: Release) -> None:
    cluster, summary, seeded = _upgrade_under_load(previous, IMAGE_TAG)
    try:
        jobs = [pod.name.split("-", 1)[1].rsplit("-", 1)[0] for pod in cluster.job_pods]
        images = sorted({pod.spec.container.image for pod in cluster.pods()})
        outside = _documents_outside_their_owners_personal_workspace(cluster)
        record(
            "8 upgrade from the previous release",
            previous=previous.commit[:10],
            requests=summary["requests"],
            failed_requests=summary["failed"],
            gets_resent_after_a_reload=summary["gets_resent_after_a_reload"],
            jobs=jobs,
            documents_outside_personal_workspace=outside,
        )
        assert summary["failed"] == 0, summary["failures"]
        assert all(image.endswith(f":{IMAGE_TAG}") for image in images), images
        # the previous chart's one migration Job at install; this chart's expand before, contract after
        assert jobs[-2:] == ["docket-api-migrate", "docket-api-migrate-contract"], jobs
        assert outside == 0
        with client(cluster.url) as http:
            sign_in(http, "after")
            assert http.get(f"/api/v1/documents/{seeded[0]}").status_code == 404  # not this user's
    finally:
        cluster.teardown()


@pytest.mark.rehearsal
@pytest.mark.timeout(1500)
def test_8_a_contract_step_marked_expand_breaks_the_previous_release_and_the_rehearsal_sees_it(
    before_contract_step: Release,
) -> None:
    broken = phase_breaking_api_image(IMAGE_TAG, CONTRACT_STEP)
    cluster, summary, _ = _upgrade_under_load(before_contract_step, broken)
    try:
        failures = sorted(set(summary["failures"]))
        uploads = summary["by_kind"]["upload"]
        say(f"broken phase rule: {summary['failed']} of {summary['requests']} failed: {failures[:5]}")
        record(
            "8 broken phase rule",
            requests=summary["requests"],
            failed_requests=summary["failed"],
            failures=failures[:5],
            uploads=uploads,
        )
        assert summary["failed"] > 0, "the previous release kept working on a contracted schema"
        # the previous release's inserts lean on the trigger the contract step drops
        assert any(outcome.startswith("upload 5") for outcome in uploads), uploads
    finally:
        cluster.teardown()

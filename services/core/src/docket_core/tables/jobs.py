"""SQL for the job queue (``jobs`` and ``job_attempts``): the API enqueues, the worker claims with
SKIP LOCKED, holds leases, retries with backoff and records every attempt; the CLI requeues dead jobs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from docket_core.contracts import JOBS_NOTIFY_CHANNEL, JobPayload

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


class LeaseLostError(Exception):
    """Another worker owns this job now (our lease expired); our result must not be committed."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


async def enqueue(conn: AsyncConnection[Any], payload: JobPayload) -> int:
    """Add a job in the caller's transaction; its NOTIFY is delivered when that commits, never before."""
    cur = await conn.execute(
        "INSERT INTO jobs (kind, payload) VALUES (%s, %s) RETURNING id",
        (payload.KIND, Jsonb(payload.to_builtins())),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("SELECT pg_notify(%s, %s)", (JOBS_NOTIFY_CHANNEL, payload.KIND))
    return int(row["id"])  # type: ignore[call-overload]


async def unfinished_status(conn: AsyncConnection[Any], payload: JobPayload) -> str | None:
    """The status (queued or running) of an unfinished job with exactly this payload, if there is one."""
    cur = await conn.execute(
        "SELECT status FROM jobs WHERE kind = %s AND payload = %s AND status IN ('queued', 'running') "
        "ORDER BY id LIMIT 1",
        (payload.KIND, Jsonb(payload.to_builtins())),
    )
    row = await cur.fetchone()
    return str(row["status"]) if row else None  # type: ignore[call-overload]


CLAIM = """
WITH picked AS (
    SELECT id FROM jobs
    WHERE (status = 'queued' AND run_at <= now())
       OR (status = 'running' AND locked_until < now())
    ORDER BY run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE jobs j
    SET status = 'running', attempts = j.attempts + 1, locked_by = %(worker)s,
        locked_until = now() + make_interval(secs => %(lease)s), updated_at = now()
    FROM picked WHERE j.id = picked.id
    RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts
), history AS (
    INSERT INTO job_attempts (job_id, attempt, worker_id)
    SELECT id, attempts, %(worker)s FROM claimed
)
SELECT * FROM claimed ORDER BY id
"""


async def claim(
    conn: AsyncConnection[Any], worker_id: str, limit: int, lease_seconds: float
) -> list[ClaimedJob]:
    """Take up to ``limit`` runnable jobs, including those whose worker's lease ran out."""
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(CLAIM, {"limit": limit, "worker": worker_id, "lease": lease_seconds})
        rows = await cur.fetchall()
    return [
        ClaimedJob(row["id"], row["kind"], row["payload"], row["attempts"], row["max_attempts"])
        for row in rows
    ]


async def extend_leases(
    conn: AsyncConnection[Any], worker_id: str, job_ids: list[int], lease_seconds: float
) -> None:
    await conn.execute(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => %s) "
        "WHERE id = ANY(%s) AND locked_by = %s AND status = 'running'",
        (lease_seconds, job_ids, worker_id),
    )


OWNED = "id = %(id)s AND locked_by = %(worker)s AND attempts = %(attempt)s AND status = 'running'"


async def _finish_attempt(
    conn: AsyncConnection[Any], job: ClaimedJob, outcome: str, error: str | None
) -> None:
    await conn.execute(
        "UPDATE job_attempts SET finished_at = clock_timestamp(), outcome = %s, error = %s "
        "WHERE job_id = %s AND attempt = %s AND finished_at IS NULL",
        (outcome, error, job.id, job.attempt),
    )


async def complete(conn: AsyncConnection[Any], job: ClaimedJob, worker_id: str) -> None:
    """Mark the job done inside the caller's transaction; raises LeaseLostError if it is not ours."""
    cur = await conn.execute(
        "UPDATE jobs SET status = 'succeeded', finished_at = now(), locked_until = NULL, updated_at = now(), "
        f"last_error = NULL WHERE {OWNED}",
        {"id": job.id, "worker": worker_id, "attempt": job.attempt},
    )
    if cur.rowcount != 1:
        raise LeaseLostError(f"job {job.id} attempt {job.attempt} is no longer ours")
    await _finish_attempt(conn, job, "succeeded", None)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter around the nominal delay."""
    nominal = min(BACKOFF_BASE_SECONDS * 2.0 ** (attempt - 1), BACKOFF_CAP_SECONDS)
    return nominal * random.uniform(0.5, 1.5)


async def fail(conn: AsyncConnection[Any], job: ClaimedJob, worker_id: str, error: str) -> str:
    """Schedule a retry, or bury the job as dead after its last attempt; returns the outcome."""
    dead = job.attempt >= job.max_attempts
    async with conn.transaction():
        if dead:
            cur = await conn.execute(
                "UPDATE jobs SET status = 'dead', last_error = %(error)s, locked_until = NULL, "
                f"finished_at = now(), updated_at = now() WHERE {OWNED}",
                {"id": job.id, "worker": worker_id, "attempt": job.attempt, "error": error[:2000]},
            )
        else:
            cur = await conn.execute(
                "UPDATE jobs SET status = 'queued', last_error = %(error)s, locked_until = NULL, "
                "locked_by = NULL, run_at = now() + make_interval(secs => %(delay)s), updated_at = now() "
                f"WHERE {OWNED}",
                {
                    "id": job.id,
                    "worker": worker_id,
                    "attempt": job.attempt,
                    "error": error[:2000],
                    "delay": backoff_seconds(job.attempt),
                },
            )
        outcome = ("dead" if dead else "retry") if cur.rowcount == 1 else "lease_lost"
        await _finish_attempt(conn, job, outcome, error[:2000])
    return outcome


async def release(conn: AsyncConnection[Any], jobs: list[ClaimedJob], worker_id: str) -> None:
    """Give unfinished jobs back at shutdown so another worker starts them at once; the try is not counted."""
    async with conn.transaction():
        for job in jobs:
            cur = await conn.execute(
                "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_until = NULL, "
                f"locked_by = NULL, run_at = now(), updated_at = now() WHERE {OWNED}",
                {"id": job.id, "worker": worker_id, "attempt": job.attempt},
            )
            if cur.rowcount == 1:
                await _finish_attempt(conn, job, "released", "worker shut down")


async def bury_overdue(conn: AsyncConnection[Any], job: ClaimedJob, worker_id: str) -> None:
    """A job whose workers keep dying: it has used every attempt, so it goes dead instead of running again."""
    await fail(conn, job, worker_id, "lease expired on every attempt (the worker died or was killed)")


async def queue_stats(conn: AsyncConnection[Any]) -> tuple[int, float]:
    """Queued jobs ready to run, and the age in seconds of the oldest one."""
    cur = await conn.execute(
        "SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(run_at)), 0) AS oldest "
        "FROM jobs WHERE status = 'queued' AND run_at <= now()"
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["depth"]), float(row["oldest"])  # type: ignore[call-overload]


def unfinished(conn: psycopg.Connection[Any], *, dead_only: bool) -> list[dict[str, Any]]:
    """Jobs that have not succeeded (or only the dead ones), oldest first, for the operator's CLI."""
    where = "status = 'dead'" if dead_only else "status <> 'succeeded'"
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        f"SELECT id, kind, status, attempts, max_attempts, updated_at, last_error FROM jobs "
        f"WHERE {where} ORDER BY id"
    ).fetchall()


def requeue_dead(conn: psycopg.Connection[Any], ids: list[int], *, every: bool) -> list[int]:
    """Give dead jobs (these ``ids``, or ``every`` one) a fresh set of attempts, and wake the workers."""
    requeued = [
        int(row[0])
        for row in conn.execute(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), locked_by = NULL, "
            "locked_until = NULL, finished_at = NULL, updated_at = now() "
            "WHERE status = 'dead' AND (%s OR id = ANY(%s)) RETURNING id",
            (every, ids),
        ).fetchall()
    ]
    conn.execute("SELECT pg_notify(%s, 'retry')", (JOBS_NOTIFY_CHANNEL,))
    return requeued

"""5. Worker: documents/s with 1 and 2 processes, upload→ready latency, wake-up latency (NOTIFY vs poll)."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from bench import formats, procs, seed, words
from bench.context import Context
from bench.procs import Proc
from bench.report import Section
from bench.stats import median, percentile
from bench.uploads import BOUNDARY

NOTIFY_CHANNEL = "docket_jobs"  # docket_core.contracts.JOBS_NOTIFY_CHANNEL
POLL_INTERVAL = 2.0  # WORKER_POLL_INTERVAL_SECONDS default
RUN_TIMEOUT = 600.0


def _texts(count: int, size: int) -> list[str]:
    """``count`` distinct texts of ``size`` bytes: a unique first line over one of 32 bodies."""
    rng = random.Random(5)
    bodies = [words.text(rng, size) for _ in range(32)]
    return [f"Document {n} {uuid.uuid4().hex}\n" + bodies[n % 32][: size - 50] for n in range(count)]


def _reset(url: str, doc_ids: list[str]) -> None:
    """Put the documents back to pending, with no jobs, as if just uploaded."""
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM jobs WHERE payload->>'document_id' = ANY(%s)", (doc_ids,))
        conn.execute(
            "UPDATE documents SET status = 'pending', extracted_text = NULL, search = NULL, "
            "word_count = NULL, updated_at = now() WHERE id = ANY(%s)",
            (doc_ids,),
        )


def _enqueue_all(url: str, doc_ids: list[str]) -> None:
    """Queue one job per document in one transaction with one NOTIFY, as a burst of uploads would."""
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY jobs (kind, payload) FROM STDIN") as copy:
            for doc_id in doc_ids:
                copy.write_row(("process_document", Jsonb({"document_id": doc_id})))
        conn.execute("SELECT pg_notify(%s, 'process_document')", (NOTIFY_CHANNEL,))


def _vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE documents, jobs, job_attempts, document_blob_chunks")


def _wait_done(url: str, doc_ids: list[str], deadline: float) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status IN ('ready', 'failed')), "
                "count(*) FILTER (WHERE status = 'failed') FROM documents WHERE id = ANY(%s)",
                (doc_ids,),
            ).fetchone()
            assert row is not None
            if row[0] == len(doc_ids):
                if row[1]:
                    raise RuntimeError(f"{row[1]} documents failed to process")
                return
            time.sleep(0.2)
    raise TimeoutError("the worker did not finish the queue in time")


def _throughput_run(ctx: Context, doc_ids: list[str], processes: int, concurrency: int = 0) -> dict[str, Any]:
    """One run: ``processes`` fresh workers drain one burst of jobs; 0 concurrency is the service default."""
    stack = ctx.stack
    _reset(stack.database_url, doc_ids)
    _vacuum(stack.database_url)
    concurrency = concurrency or ctx.options.worker_concurrency
    extra = {"WORKER_CONCURRENCY": str(concurrency)} if concurrency else {}
    workers = [stack.start_worker(f"worker-{processes}p-{n}", extra) for n in range(processes)]
    try:
        groups = {f"worker{n}": w.pid for n, w in enumerate(workers)} | {"postgres": stack.postmaster_pid}
        with procs.Monitor(groups, interval=0.1) as monitor:
            _enqueue_all(stack.database_url, doc_ids)
            _wait_done(stack.database_url, doc_ids, time.monotonic() + RUN_TIMEOUT)
    finally:
        for worker in workers:
            stack.stop(worker)
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM max(j.finished_at) - min(j.created_at)), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.updated_at - j.created_at)), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.updated_at - j.created_at)) "
            "FROM jobs j JOIN documents d ON d.id::text = j.payload->>'document_id' WHERE d.id = ANY(%s)",
            (doc_ids,),
        ).fetchone()
    assert row is not None
    seconds = float(row[0])
    worker_usage = [u for name, u in monitor.usage.items() if name.startswith("worker")]
    return {
        "processes": processes,
        "concurrency": concurrency or "default",
        "seconds": seconds,
        "docs_per_second": len(doc_ids) / seconds,
        "backlog_p50_s": float(row[1]),
        "backlog_p99_s": float(row[2]),
        "worker_cpu_cores": sum(u.cpu_seconds for u in worker_usage) / monitor.seconds,
        "postgres_cpu_cores": monitor.usage["postgres"].cpu_seconds / monitor.seconds,
        "worker_peak_rss_mb": max(u.peak_rss_mb for u in worker_usage),
    }


def _idle_latency(ctx: Context, api: Proc, token: str, samples: int, size: int) -> dict[str, Any]:
    """Upload one document at a time into an idle queue; time from the 201 to status ready."""
    client_ms, db_ms = [], []
    body_texts = _texts(samples, size)
    with httpx.Client(timeout=30) as client, psycopg.connect(ctx.stack.database_url, autocommit=True) as conn:
        for n, text in enumerate(body_texts):
            payload = (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="idle-{n}.txt"\r\n'
                f"Content-Type: text/plain\r\n\r\n{text}\r\n--{BOUNDARY}--\r\n"
            ).encode()
            response = client.post(
                api.url("/api/v1/documents"),
                content=payload,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                },
            )
            created = time.monotonic()
            if response.status_code != 201:
                raise RuntimeError(f"upload answered {response.status_code}: {response.text[:200]}")
            doc_id = response.json()["id"]
            while True:
                row = conn.execute(
                    "SELECT status, extract(epoch FROM updated_at - created_at) FROM documents WHERE id = %s",
                    (doc_id,),
                ).fetchone()
                assert row is not None
                if row[0] in ("ready", "failed"):
                    client_ms.append((time.monotonic() - created) * 1000)
                    db_ms.append(float(row[1]) * 1000)
                    break
                if time.monotonic() - created > 30:
                    raise TimeoutError("a document stayed pending for 30 s on an idle queue")
                time.sleep(0.002)
            time.sleep(random.uniform(0.05, 0.2))
    client_ms.sort()
    db_ms.sort()
    return {
        "samples": samples,
        "client_p50_ms": percentile(client_ms, 50),
        "client_p99_ms": percentile(client_ms, 99),
        "db_p50_ms": percentile(db_ms, 50),
        "db_p99_ms": percentile(db_ms, 99),
    }


def _wake_latency(ctx: Context, samples: int) -> dict[str, list[float]]:
    """Enqueue-to-claim of a trivial job on an idle queue, with NOTIFY and without (polling only)."""
    result: dict[str, list[float]] = {"notify": [], "poll": []}
    with psycopg.connect(ctx.stack.database_url, autocommit=True) as conn:
        for mode, pause in (("notify", 0.3), ("poll", POLL_INTERVAL)):
            for _ in range(samples):
                time.sleep(random.uniform(0, pause))  # a uniform phase against the poll timer
                with conn.transaction():
                    row = conn.execute(
                        "INSERT INTO jobs (kind, payload) VALUES ('purge_document', %s) RETURNING id",
                        (Jsonb({"blob_id": str(uuid.uuid4())}),),
                    ).fetchone()
                    assert row is not None
                    if mode == "notify":
                        conn.execute("SELECT pg_notify(%s, 'purge_document')", (NOTIFY_CHANNEL,))
                deadline = time.monotonic() + POLL_INTERVAL * 3 + 5
                while time.monotonic() < deadline:
                    waited = conn.execute(
                        "SELECT extract(epoch FROM a.started_at - j.created_at) FROM jobs j "
                        "JOIN job_attempts a ON a.job_id = j.id WHERE j.id = %s AND j.status = 'succeeded'",
                        (row[0],),
                    ).fetchone()
                    if waited:
                        result[mode].append(float(waited[0]) * 1000)
                        break
                    time.sleep(0.005)
                else:
                    raise TimeoutError(f"a {mode} job was not claimed in time")
    return result


def run(ctx: Context) -> Section:
    section = Section("worker")
    opts, stack = ctx.options, ctx.stack
    size = opts.worker_doc_kb * 1024
    with psycopg.connect(stack.database_url) as conn:
        owner = seed.create_users(conn, 1, "worker")[0]
        doc_ids = seed.insert_documents(conn, owner.id, _texts(opts.worker_docs, size), ready=False)
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    sweep: dict[int, list[dict[str, Any]]] = {c: [] for c in opts.worker_concurrency_sweep}
    for _ in range(opts.rounds):
        for processes in (1, 2):
            runs[processes].append(_throughput_run(ctx, doc_ids, processes))
        for concurrency, results in sweep.items():
            results.append(_throughput_run(ctx, doc_ids, 1, concurrency))
    _vacuum(stack.database_url)
    worker = stack.start_worker("worker-idle")
    api = stack.start_api(workers=opts.workers, name="api-worker")
    try:
        token = seed.login(api.url(), owner.email)
        idle = _idle_latency(ctx, api, token, opts.latency_samples, size)
        wake = _wake_latency(ctx, opts.wake_samples)
    finally:
        stack.stop(api)
        stack.stop(worker)
    one, two = runs[1], runs[2]
    rate1, rate2 = median([r["docs_per_second"] for r in one]), median([r["docs_per_second"] for r in two])
    ctx.rss["worker_under_load_mb"] = max(r["worker_peak_rss_mb"] for r in one + two)
    section.data = {
        "documents": len(doc_ids),
        "doc_kb": opts.worker_doc_kb,
        "runs": runs,
        "idle": idle,
        "wake_ms": wake,
        "sweep": sweep,
    }
    section.check(
        "1 process docs/s",
        rate1,
        "docs/s",
        100,
        at_most=False,
        note=f"{len(doc_ids)} x {opts.worker_doc_kb} KB text, median of {opts.rounds}",
    )
    section.check(
        "2 processes docs/s per process",
        rate2 / 2,
        "docs/s",
        100,
        at_most=False,
        note=f"{rate2:.0f} docs/s in all; 2 cores shared with PostgreSQL",
    )
    section.add("scaling 2 / 1 processes", rate2 / rate1 if rate1 else None, "x")
    section.add(
        "worker CPU (1 process)",
        median([r["worker_cpu_cores"] for r in one]),
        "cores",
        note=f"postgres {median([r['postgres_cpu_cores'] for r in one]):.2f} cores",
    )
    section.add(
        "backlog enqueue→ready p50 (1 proc)",
        median([r["backlog_p50_s"] for r in one]) * 1000,
        "ms",
        note="all jobs queued at once: mostly queue wait",
    )
    section.add("backlog enqueue→ready p99 (1 proc)", median([r["backlog_p99_s"] for r in one]) * 1000, "ms")
    section.check(
        "idle upload→ready p50",
        idle["db_p50_ms"],
        "ms",
        250,
        at_most=True,
        note=f"updated_at - created_at; client-observed {idle['client_p50_ms']:.0f} ms",
    )
    section.add(
        "idle upload→ready p99",
        idle["db_p99_ms"],
        "ms",
        note=f"{idle['samples']} samples; client-observed {idle['client_p99_ms']:.0f} ms",
    )
    for mode, values in wake.items():
        ordered = sorted(values)
        section.add(
            f"wake-up {mode} p50",
            percentile(ordered, 50),
            "ms",
            note=f"max {ordered[-1]:.0f} ms, "
            f"{len(ordered)} samples" + (f"; poll interval {POLL_INTERVAL:g} s" if mode == "poll" else ""),
        )
    for concurrency, results in sweep.items():
        section.add(
            f"1 process docs/s, WORKER_CONCURRENCY={concurrency}",
            median([r["docs_per_second"] for r in results]),
            "docs/s",
            note=f"alternated; postgres {median([r['postgres_cpu_cores'] for r in results]):.2f} cores",
        )
    section.add("worker peak RSS under load", ctx.rss["worker_under_load_mb"], "MB")
    per_format = formats.measure()
    section.data["formats"] = per_format
    for name, rate in per_format["docs_per_second"].items():
        section.add(
            f"extraction docs/s, {name}", rate, "docs/s", note="one child at a time, through the sandbox"
        )
    section.check(
        "OCR pages/s (300 DPI, one process)",
        per_format["ocr_pages_per_second"],
        "pages/s",
        1,
        at_most=False,
        note="image-only PDF rendered by PDFium, read by Tesseract; '-' when Tesseract is not installed",
    )
    return section

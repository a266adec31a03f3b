"""Search's statement alone, variant against variant: PostgreSQL CPU per search.

``python -m bench.search_statement`` seeds the search section's corpus (100 users of 100 documents of
~2 KB, and one workspace of ``--large`` documents), then runs the 64 two-word queries of the search
section through ``search_json`` on one connection, variant after variant, for ``--rounds`` alternated
rounds. It reads the backend's own CPU time from ``/proc`` before and after each batch, so the figure
is what the statement costs PostgreSQL whatever else loads the machine (wall time is printed beside
it). Variants change the module's constants (the snippet window, the ranked matches) or the column's
storage (``--storage``: the vectors rewritten EXTENDED, then MAIN, between rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench import seed, words
from bench.stack import Stack
from docket_core.tables import documents

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _with_constants(**values: int) -> Callable[[], list[str]]:
    def apply() -> list[str]:
        for name, value in values.items():
            setattr(documents, name, value)
        return []

    return apply


def _with_session(*statements: str) -> Callable[[], list[str]]:
    """A variant that runs ``statements`` on its connection first (a session setting)."""
    return lambda: list(statements)


async def _batch(
    conn: psycopg.AsyncConnection[Any], workspace: uuid.UUID, queries: list[str], repeat: int
) -> tuple[float, float]:
    cur = await conn.execute("SELECT pg_backend_pid() AS pid")
    row = await cur.fetchone()
    assert row is not None
    pid = row["pid"]
    cpu, wall = _cpu_seconds(pid), time.perf_counter()
    for _ in range(repeat):
        for query in queries:
            await documents.search_json(conn, [workspace], query, 10, 0)
    count = repeat * len(queries)
    return (_cpu_seconds(pid) - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count


def _rewrite(url: str, storage: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE documents ALTER COLUMN search SET STORAGE {storage}")
        conn.execute("UPDATE documents SET search = search || ''::tsvector")
        conn.execute("VACUUM ANALYZE documents")


async def _measure(
    url: str,
    cases: dict[str, list[uuid.UUID]],
    queries: list[str],
    variants: dict[str, Callable[[], list[str]]],
    rounds: int,
    repeat: int,
    storage: bool,
) -> dict[tuple[str, str], list[float]]:
    cpu: dict[tuple[str, str], list[float]] = {}
    for n in range(rounds):
        for layout in ["EXTENDED", "MAIN"] if storage else [""]:
            if layout:
                _rewrite(url, layout)
            for name, apply in variants.items():
                session = apply()
                label = f"{name} {layout}".strip()
                async with await psycopg.AsyncConnection.connect(
                    url, row_factory=dict_row, autocommit=True
                ) as conn:
                    for statement in session:
                        await conn.execute(statement)
                    for case, workspaces in cases.items():
                        await _batch(conn, workspaces[0], queries[:8], 1)  # warm
                        per, wall = 0.0, 0.0
                        for workspace in workspaces:
                            c, w = await _batch(conn, workspace, queries, repeat)
                            per, wall = per + c / len(workspaces), wall + w / len(workspaces)
                        cpu.setdefault((label, case), []).append(per)
                        load = os.getloadavg()[0]
                        print(
                            f"round {n + 1} {label:28} {case:5} cpu {per:6.2f} ms  wall {wall:6.2f} ms  "
                            f"load {load:.1f}",
                            flush=True,
                        )
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=90_000, help="documents of the large workspace")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="passes over the 64 queries per batch")
    parser.add_argument("--variants", default="window", help="window, ranked, plans or none")
    parser.add_argument("--storage", action="store_true", help="alternate EXTENDED and MAIN storage")
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="docket-bench-"))).start()
    try:
        url = stack.database_url
        corpus = seed.seed_corpus(url, 100, 100, 2048)
        rng = random.Random(11)
        with psycopg.connect(url) as conn:
            (owner,) = seed.create_users(conn, 1, "archivist")
            left = args.large
            while left:
                texts = [words.text(rng, 2048) for _ in range(min(left, 10_000))]
                seed.insert_documents(conn, owner.id, texts, ready=True)
                conn.commit()
                left -= len(texts)
            personal = {
                str(user): ws
                for user, ws in conn.execute("SELECT personal_of, id FROM workspaces").fetchall()
            }
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE documents")
        cases = {"10k": [personal[u.id] for u in corpus.users[:8]]}
        if args.large:
            cases["large"] = [personal[owner.id]]
        queries = words.two_word_queries(random.Random(7), 64)
        variants = {
            "window": {
                "before: 20,000 chars": _with_constants(SNIPPET_WINDOW_CHARS=20_000),
                "window 1,000": _with_constants(SNIPPET_WINDOW_CHARS=1_000),
                "window 500": _with_constants(SNIPPET_WINDOW_CHARS=500),
            },
            "ranked": {
                f"ranked {n}": _with_constants(RANKED_MATCHES_PER_WORKSPACE=n) for n in (200, 100, 50)
            },
            "plans": {
                "custom plans (auto)": _with_session("SET plan_cache_mode = auto"),
                "generic plan": _with_session("SET plan_cache_mode = force_generic_plan"),
            },
            "none": {"as is": _with_constants()},
        }[args.variants]
        cpu = asyncio.run(_measure(url, cases, queries, variants, args.rounds, args.repeat, args.storage))
        print("\nmedian PostgreSQL CPU per search (ms):")
        for (label, case), values in cpu.items():
            each = ", ".join(f"{v:.2f}" for v in values)
            print(f"  {label:28} {case:5} {statistics.median(values):6.2f}  ({each})")
    finally:
        stack.close()


if __name__ == "__main__":
    main()

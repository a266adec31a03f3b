"""What every section gets: the options, the running stack, the seeded users and their tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.seed import Corpus, User
from bench.stack import Stack

SECTIONS = ("read", "server", "search", "memory", "upload", "worker", "backup", "images", "pooler", "detail")


@dataclass(frozen=True)
class Options:
    only: tuple[str, ...] = SECTIONS
    duration: float = 10.0
    rounds: int = 3
    warmup: float = 2.0
    workers: int = 1
    connections: int = 64
    search_connections: int = 16
    search_large_docs: int = 90_000  # one workspace this large beside the corpus (0: skip that case)
    threads: int = 1
    users: int = 100
    docs_per_user: int = 100
    text_bytes: int = 2048
    login_users: int = 8
    worker_docs: int = 2000
    worker_doc_kb: int = 50
    worker_concurrency: int = 0  # 0: the service's default (WORKER_CONCURRENCY)
    worker_concurrency_sweep: tuple[int, ...] = ()  # extra 1-process runs at these concurrencies
    latency_samples: int = 40
    wake_samples: int = 8
    backup_mb: int = 256
    image_tag: str = "dev"
    profile: bool = False  # record a py-spy flame graph of the read path into bench/profiles/
    base_image: str = "python:3.12-slim-bookworm"
    pg_fsync: bool = True
    detail_text_kb: int = 50  # the text of each document the detail section reads


@dataclass
class Context:
    options: Options
    stack: Stack
    corpus: Corpus
    readers: list[User] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    rss: dict[str, float] = field(default_factory=dict)

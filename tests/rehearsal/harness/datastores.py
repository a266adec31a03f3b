"""PostgreSQL and Redis for the release: the embedded servers on 127.0.0.1, reached by the pods under
the Service names of the charts' default URLs (docket-postgres:5432, docket-redis:6379, as in k8s/dev)."""

from __future__ import annotations

import psycopg
from embedded_services import EmbeddedPostgres, EmbeddedRedis

from harness.log import say

POSTGRES_SERVICE = ("docket-postgres", 5432)
REDIS_SERVICE = ("docket-redis", 6379)
ROLE = "docket"


class Datastores:
    """An embedded PostgreSQL with k8s/dev's role and database, and an embedded Redis that can be stopped."""

    def __init__(self) -> None:
        self.postgres = EmbeddedPostgres()
        self.redis = EmbeddedRedis()

    def start(self) -> Datastores:
        self.postgres.start()
        with psycopg.connect(self.postgres.url(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{ROLE}'")
            conn.execute(f"CREATE DATABASE {ROLE} OWNER {ROLE}")
        self.redis.start()
        say(f"datastores: PostgreSQL on 127.0.0.1:{self.postgres.port}, Redis on 127.0.0.1:{self.redis.port}")
        return self

    def database_url(self) -> str:
        """The release's database, as the harness (not a pod) reaches it."""
        return self.postgres.url(ROLE)

    def stop_redis(self) -> None:
        say("datastores: Redis stopped")
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.start()
        say("datastores: Redis started")

    def restart_postgres(self) -> None:
        """A fast shutdown and a start on the same port and data, as a pod restart of the server does."""
        say("datastores: PostgreSQL restarting")
        self.postgres.stop()
        self.postgres.start()
        say("datastores: PostgreSQL back")

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.destroy()

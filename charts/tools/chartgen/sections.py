"""Schemas of the value sections every service chart shares: resources, probes, the restricted
security contexts, ServiceAccounts, NetworkPolicy, Ingress and ``global``."""

from __future__ import annotations

from .schema_types import (
    BOOL,
    DNS_NAME,
    NONEMPTY,
    PEERS,
    PORTS,
    QUANTITY,
    STRING,
    STRING_LIST,
    Schema,
    free_object,
    integer,
    nullable,
    obj,
    string_map,
)


def resources() -> Schema:
    pair = obj({"cpu": QUANTITY, "memory": QUANTITY}, required=["cpu", "memory"])
    return obj(
        {"requests": pair, "limits": pair},
        required=["requests", "limits"],
        desc="Every container has requests and limits for cpu and memory.",
    )


def probe(name: str) -> Schema:
    props: dict[str, Schema] = {
        "enabled": BOOL,
        "initialDelaySeconds": integer(0),
        "periodSeconds": integer(1),
        "timeoutSeconds": integer(1),
        "failureThreshold": integer(1),
        "successThreshold": integer(1) if name == "readinessProbe" else {"const": 1},
    }
    return obj(props, required=["enabled"], desc="Timings only: the path and port are fixed by the chart.")


SECCOMP = obj(
    {"type": {"enum": ["RuntimeDefault", "Localhost"]}, "localhostProfile": STRING},
    required=["type"],
    desc="The restricted profile allows RuntimeDefault or Localhost.",
)


def pod_security_context() -> Schema:
    return obj(
        {
            "runAsNonRoot": {"const": True},
            "runAsUser": integer(1),
            "runAsGroup": integer(1),
            "fsGroup": integer(1),
            "fsGroupChangePolicy": {"enum": ["OnRootMismatch", "Always"]},
            "supplementalGroups": {"type": "array", "items": integer(1)},
            "seccompProfile": SECCOMP,
        },
        desc="Restricted profile: runAsNonRoot cannot be turned off.",
    )


def container_security_context() -> Schema:
    return obj(
        {
            "runAsNonRoot": {"const": True},
            "runAsUser": integer(1),
            "runAsGroup": integer(1),
            "allowPrivilegeEscalation": {"const": False},
            "readOnlyRootFilesystem": {"const": True},
            "privileged": {"const": False},
            "capabilities": obj(
                {
                    "drop": {"type": "array", "contains": {"const": "ALL"}, "items": STRING},
                    "add": {"type": "array", "items": {"const": "NET_BIND_SERVICE"}},
                }
            ),
            "seccompProfile": SECCOMP,
        },
        desc="Restricted profile: the hardening fields can only hold their safe value.",
    )


def service_account(desc: str) -> Schema:
    return obj({"create": BOOL, "name": STRING, "annotations": string_map()}, desc=desc)


def egress_rule() -> Schema:
    return obj(
        {"enabled": BOOL, "ports": PORTS, "to": PEERS},
        required=["enabled"],
        desc="An enabled rule needs its peers in to; the templates refuse an empty one.",
    )


# The egress peers of each chart's pods: the web opens no database connection, only the worker's
# backup Jobs push to a Pushgateway.
EGRESS_PEERS: dict[str, tuple[str, ...]] = {
    "api": ("postgresql", "redis", "sentry", "otlp"),
    "web": ("api", "redis", "sentry", "otlp"),
    "worker": ("postgresql", "redis", "sentry", "otlp", "pushgateway"),
}


def network_policy(chart: str) -> Schema:
    egress: dict[str, Schema] = {
        "dns": obj(
            {"namespace": NONEMPTY, "podSelector": free_object()},
            required=["namespace", "podSelector"],
        ),
        **{peer: egress_rule() for peer in EGRESS_PEERS[chart]},
        "extra": {"type": "array", "items": {"type": "object", "required": ["to"]}},
    }
    props: dict[str, Schema] = {
        "enabled": BOOL,
        "metricsFrom": PEERS,
        "egress": obj(egress),
    }
    if chart in ("api", "web"):
        props["ingressControllerNamespace"] = STRING
    if chart == "api":
        props["allowFromWeb"] = BOOL
    return obj(props, required=["enabled"])


def ingress() -> Schema:
    return obj(
        {
            "enabled": BOOL,
            "controller": {"enum": ["nginx", "traefik"]},
            "className": STRING,
            "host": DNS_NAME,
            "path": {"type": "string", "pattern": "^/"},
            "annotations": string_map(),
            "maxBodyBytes": nullable(integer(1)),
            "tls": obj({"clusterIssuer": STRING, "existingSecret": STRING}),
            "hsts": obj(
                {"maxAgeSeconds": integer(0), "includeSubdomains": BOOL, "preload": BOOL},
                required=["maxAgeSeconds", "includeSubdomains", "preload"],
            ),
            "rateLimit": obj(
                {
                    "enabled": BOOL,
                    "requestsPerSecond": integer(1),
                    "burstMultiplier": integer(1),
                    "connections": integer(1),
                },
                required=["enabled", "requestsPerSecond", "burstMultiplier", "connections"],
            ),
            "traefik": obj(
                {
                    "entryPoints": {"type": "array", "minItems": 1, "items": NONEMPTY},
                    "ipStrategyDepth": integer(0),
                }
            ),
        },
        required=["enabled", "controller"],
    )


# A Cluster name: a DNS label short enough for its longest derived name, "<cluster>-pooler-rw".
CLUSTER_NAME: Schema = {"type": "string", "pattern": r"^([a-z]([-a-z0-9]{0,48}[a-z0-9])?)?$"}
# host:port of a Redis Sentinel (a name, an IPv4 address or a bracketed IPv6 address).
SENTINEL: Schema = {
    "type": "string",
    "pattern": r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):[0-9]{1,5}$",
}


def global_postgresql() -> Schema:
    return obj(
        {
            "mode": {"enum": ["external", "cnpg"]},
            "cluster": CLUSTER_NAME,
            "readFromReplicas": BOOL,
        },
        required=["mode"],
        desc="How the api and worker reach PostgreSQL: external (DATABASE_URL) or cnpg.",
    )


def global_redis() -> Schema:
    return obj(
        {"sentinels": {"type": "array", "items": SENTINEL}, "sentinelMaster": STRING},
        desc="Redis Sentinel for every chart instead of REDIS_URL.",
    )


def global_values() -> Schema:
    return obj(
        {
            "image": obj({"registry": STRING, "tag": {"type": "string", "not": {"const": "latest"}}}),
            "environment": {"enum": ["", "local", "test", "staging", "production"]},
            "devServices": BOOL,
            "existingSecret": STRING,
            "imagePullSecrets": STRING_LIST,
            "ingress": obj(
                {
                    "host": DNS_NAME,
                    "controller": {"enum": ["", "nginx", "traefik"]},
                    "tls": obj({"existingSecret": STRING, "clusterIssuer": STRING}),
                }
            ),
            "postgresql": global_postgresql(),
            "redis": global_redis(),
        },
        desc="Values shared by every Docket chart.",
    )

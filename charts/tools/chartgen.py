"""Generate what the Docket charts share, so it is written once: the JSON schemas and the README
parameter tables.

    python charts/tools/chartgen.py          # rewrite the generated files
    python charts/tools/chartgen.py --check  # exit 1 if any generated file is stale (the tests run this)

* ``values.schema.json`` of every chart is built from the definitions below: the value names the
  three charts share are defined once, each chart adds its own (``config`` keys, ``ingress``,
  ``migration``, ``backup``). Objects reject unknown keys, so a typo fails ``helm install`` with a
  message naming it.
* ``README.md`` of every chart carries a parameter table between the ``<!-- parameters:start -->`` and
  ``<!-- parameters:end -->`` markers, built from the comment above each key of ``values.yaml``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHARTS = Path(__file__).resolve().parents[1]
SERVICE_CHARTS = ("api", "web", "worker")
ALL_CHARTS = (*SERVICE_CHARTS, "docket")
START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"

Schema = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# JSON schema building blocks


def obj(properties: dict[str, Schema], *, required: list[str] | None = None, desc: str = "") -> Schema:
    """A closed object: unknown keys are rejected."""
    schema: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    if desc:
        schema["description"] = desc
    return schema


def string_map(desc: str = "") -> Schema:
    schema: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
    if desc:
        schema["description"] = desc
    return schema


def free_object(desc: str = "") -> Schema:
    schema: Schema = {"type": "object"}
    if desc:
        schema["description"] = desc
    return schema


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


BOOL: Schema = {"type": "boolean"}
STRING: Schema = {"type": "string"}
NONEMPTY: Schema = {"type": "string", "minLength": 1}


def integer(minimum: int | None = None, maximum: int | None = None) -> Schema:
    schema: Schema = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def number(minimum: float | None = None, maximum: float | None = None, *, exclusive: bool = False) -> Schema:
    schema: Schema = {"type": "number"}
    if minimum is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


QUANTITY: Schema = {
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"},
        {"type": "number", "minimum": 0},
    ]
}
INT_OR_PERCENT: Schema = {"anyOf": [integer(0), {"type": "string", "pattern": r"^[0-9]+%$"}]}
DURATION: Schema = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h))+$"}
PORTS: Schema = {"type": "array", "minItems": 1, "items": integer(1, 65535)}
PEERS: Schema = {"type": "array", "items": {"type": "object"}}
STRING_LIST: Schema = {"type": "array", "items": NONEMPTY}
LIST_OR_CSV: Schema = {"anyOf": [STRING, STRING_LIST]}
DNS_NAME: Schema = {
    "type": "string",
    "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$",
}


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
    return obj({"enabled": BOOL, "ports": PORTS, "to": PEERS}, required=["enabled"])


def network_policy(chart: str) -> Schema:
    egress: dict[str, Schema] = {
        "dns": obj(
            {"namespace": NONEMPTY, "podSelector": free_object()},
            required=["namespace", "podSelector"],
        ),
        "postgresql": egress_rule(),
        "redis": egress_rule(),
        "sentry": egress_rule(),
        "otlp": egress_rule(),
        "extra": {"type": "array", "items": {"type": "object"}},
    }
    if chart == "web":
        egress["api"] = obj({"enabled": BOOL, "ports": PORTS}, required=["enabled"])
    props: dict[str, Schema] = {
        "enabled": BOOL,
        "metricsNamespace": STRING,
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


def global_values() -> Schema:
    return obj(
        {
            "image": obj({"registry": STRING, "tag": {"type": "string", "not": {"const": "latest"}}}),
            "environment": {"enum": ["", "local", "test", "staging", "production"]},
            "existingSecret": STRING,
            "imagePullSecrets": STRING_LIST,
            "ingress": obj(
                {
                    "host": DNS_NAME,
                    "controller": {"enum": ["", "nginx", "traefik"]},
                    "tls": obj({"existingSecret": STRING, "clusterIssuer": STRING}),
                }
            ),
        },
        desc="Values shared by every Docket chart.",
    )


COMMON_CONFIG: dict[str, Schema] = {
    "ENVIRONMENT": {"enum": ["local", "test", "staging", "production"]},
    "LOG_LEVEL": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
    "RELEASE": STRING,
    "DB_POOL_MIN_SIZE": integer(0),
    "DB_POOL_MAX_SIZE": integer(1),
    "DB_POOL_TIMEOUT": number(0, exclusive=True),
    "DB_STATEMENT_TIMEOUT_MS": integer(0),
    "REDIS_CONNECT_TIMEOUT": number(0, exclusive=True),
    "REDIS_SOCKET_TIMEOUT": number(0, exclusive=True),
    "SENTRY_TRACES_SAMPLE_RATE": number(0, 1),
    "OTEL_EXPORTER_OTLP_ENDPOINT": {"type": "string", "pattern": "^(https?://.+)?$"},
    "SHUTDOWN_GRACE_SECONDS": number(0),
    "HOST": NONEMPTY,
    "PORT": integer(1024, 65535),
    "WORKERS": integer(1),
    "RELOAD": BOOL,
}
CHART_CONFIG: dict[str, dict[str, Schema]] = {
    "api": {
        "JWT_ISSUER": NONEMPTY,
        "JWT_AUDIENCE": NONEMPTY,
        "ACCESS_TOKEN_TTL_SECONDS": integer(1),
        "REFRESH_TOKEN_TTL_SECONDS": integer(1),
        "CORS_ORIGINS": LIST_OR_CSV,
        "ENABLE_SWAGGER": BOOL,
        "TRUSTED_PROXIES": LIST_OR_CSV,
        "RATE_LIMIT_ENABLED": BOOL,
        "RATE_LIMIT_ANONYMOUS": integer(1),
        "RATE_LIMIT_USER": integer(1),
        "RATE_LIMIT_WINDOW_SECONDS": integer(1),
        "LOGIN_MAX_FAILURES": integer(1),
        "LOGIN_LOCKOUT_SECONDS": integer(1),
        "MAX_BODY_BYTES": integer(1),
        "MAX_UPLOAD_BYTES": integer(1),
    },
    "web": {
        "API_URL": {"type": "string", "pattern": "^(https?://.+)?$"},
        "API_TIMEOUT_SECONDS": number(0, exclusive=True),
        "API_MAX_CONNECTIONS": integer(1),
        "TRUSTED_PROXIES": LIST_OR_CSV,
        "SESSION_TTL_SECONDS": integer(60),
        "MAX_UPLOAD_BYTES": integer(1),
        "UPLOAD_MAX_FILES": integer(1),
    },
    "worker": {
        "WORKER_CONCURRENCY": integer(1),
        "WORKER_POLL_INTERVAL_SECONDS": number(0, exclusive=True),
        "WORKER_LEASE_SECONDS": number(1),
        "WORKER_EXTRACT_TIMEOUT_SECONDS": number(0, exclusive=True),
        "WORKER_EXTRACT_MEMORY_MB": integer(1),
        "WORKER_JOB_HOLD_SECONDS": number(0),
    },
}
CHART_SECRETS: dict[str, tuple[str, ...]] = {
    "api": ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "JWT_SECRET_PREVIOUS", "SENTRY_DSN"),
    "web": ("DATABASE_URL", "REDIS_URL", "CSRF_SECRET", "SENTRY_DSN"),
    "worker": ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN"),
}


def job_settings(extra: dict[str, Schema]) -> dict[str, Schema]:
    return {
        "startingDeadlineSeconds": integer(1),
        "backoffLimit": integer(0),
        "activeDeadlineSeconds": integer(1),
        "resources": resources(),
        **extra,
    }


CRON: Schema = {
    "type": "string",
    "pattern": r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$",
}


BACKUP_CONFIG: dict[str, Schema] = {
    "BACKUP_RETENTION_DAYS": integer(1),
    "BACKUP_KEEP_MIN": integer(1),
    "BACKUP_LOCK_WAIT_SECONDS": number(0),
    "BACKUP_PROGRESS_INTERVAL_SECONDS": number(0, exclusive=True),
    "PUSHGATEWAY_URL": {"type": "string", "pattern": "^(https?://.+)?$"},
}


def backup() -> Schema:
    return obj(
        {
            "enabled": BOOL,
            "schedule": CRON,
            "timeZone": STRING,
            "suspend": BOOL,
            "successfulJobsHistoryLimit": integer(0),
            "failedJobsHistoryLimit": integer(0),
            **job_settings({}),
            "config": obj(BACKUP_CONFIG, desc="One key per environment variable of the backup commands."),
            "persistence": obj(
                {
                    "enabled": BOOL,
                    "existingClaim": STRING,
                    "size": QUANTITY,
                    "storageClass": STRING,
                    "accessModes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"enum": ["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]},
                    },
                    "mountPath": {"type": "string", "pattern": "^/"},
                    "annotations": string_map(),
                },
                required=["enabled"],
            ),
            "scratchSizeLimit": QUANTITY,
            "s3": obj(
                {
                    "url": {"type": "string", "pattern": "^(s3://[^/]+.*)?$"},
                    "endpoint": {"type": "string", "pattern": "^(https?://.+)?$"},
                    "region": STRING,
                    "existingSecret": STRING,
                    "egressPorts": PORTS,
                    "egressTo": PEERS,
                }
            ),
            "serviceAccount": service_account("The backup Jobs' ServiceAccount."),
            "podAnnotations": string_map(),
            "verify": obj({"enabled": BOOL, "schedule": CRON, **job_settings({})}),
        },
        required=["enabled", "schedule"],
    )


def migration() -> Schema:
    return obj(
        {
            "enabled": BOOL,
            "backoffLimit": integer(0),
            "activeDeadlineSeconds": integer(1),
            "resources": resources(),
            "serviceAccount": service_account("The migration Job's ServiceAccount."),
            "podAnnotations": string_map(),
        },
        required=["enabled"],
    )


def library_values() -> Schema:
    """Helm gives every dependency a key in the values, the library chart too; it takes none but global."""
    return obj({"global": free_object()}, desc="The common library chart takes no values.")


def service_chart_schema(chart: str) -> Schema:
    config = {**COMMON_CONFIG, **CHART_CONFIG[chart]}
    props: dict[str, Schema] = {
        "global": global_values(),
        "common": library_values(),
        "enabled": BOOL,
        "nameOverride": STRING,
        "fullnameOverride": STRING,
        "commonLabels": string_map(),
        "image": obj(
            {
                "repository": NONEMPTY,
                "tag": {"type": "string", "not": {"const": "latest"}},
                "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
            },
            required=["repository"],
        ),
        "imagePullSecrets": STRING_LIST,
        "replicaCount": integer(0),
        "config": obj(config, desc="One key per environment variable of docs/configuration.md."),
        "secrets": obj({key: STRING for key in CHART_SECRETS[chart]}),
        "existingSecret": STRING,
        "extraEnv": {
            "type": "array",
            "items": obj({"name": NONEMPTY, "value": STRING, "valueFrom": free_object()}, required=["name"]),
        },
        "serviceAccount": service_account("The pods' ServiceAccount."),
        "podAnnotations": string_map(),
        "priorityClassName": STRING,
        "podSecurityContext": pod_security_context(),
        "containerSecurityContext": container_security_context(),
        "tmpSizeLimit": QUANTITY,
        "resources": resources(),
        "startupProbe": probe("startupProbe"),
        "livenessProbe": probe("livenessProbe"),
        "readinessProbe": probe("readinessProbe"),
        "lifecycle": obj({"preStopSleepSeconds": integer(0, 300)}),
        "terminationGracePeriodSeconds": nullable(integer(1)),
        "updateStrategy": obj({"maxSurge": INT_OR_PERCENT}),
        "revisionHistoryLimit": integer(0),
        "service": obj(
            {
                "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                "port": integer(1, 65535),
                "annotations": string_map(),
            }
        ),
        "autoscaling": obj(
            {
                "enabled": BOOL,
                "minReplicas": integer(1),
                "maxReplicas": integer(1),
                "targetCPUUtilizationPercentage": nullable(integer(1)),
                "targetMemoryUtilizationPercentage": nullable(integer(1)),
                "behavior": free_object("autoscaling/v2 HorizontalPodAutoscalerBehavior"),
            },
            required=["enabled"],
        ),
        "pdb": obj(
            {
                "enabled": nullable(BOOL),
                "minAvailable": nullable(INT_OR_PERCENT),
                "maxUnavailable": INT_OR_PERCENT,
            }
        ),
        "topologySpread": obj(
            {
                "enabled": BOOL,
                "maxSkew": integer(1),
                "topologyKey": NONEMPTY,
                "whenUnsatisfiable": {"enum": ["ScheduleAnyway", "DoNotSchedule"]},
            },
            required=["enabled"],
        ),
        "nodeSelector": string_map(),
        "tolerations": {"type": "array", "items": {"type": "object"}},
        "affinity": free_object(),
        "networkPolicy": network_policy(chart),
        "metrics": obj(
            {
                "serviceMonitor": obj(
                    {
                        "enabled": BOOL,
                        "interval": DURATION,
                        "scrapeTimeout": DURATION,
                        "labels": string_map(),
                    },
                    required=["enabled"],
                )
            }
        ),
    }
    if chart in ("api", "web"):
        props["ingress"] = ingress()
    if chart == "api":
        props["migration"] = migration()
    if chart == "worker":
        props["backup"] = backup()
    schema = obj(props, required=["image", "config", "secrets", "resources"])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"Values of the Docket {chart} chart",
        **schema,
    }


def umbrella_schema() -> Schema:
    enabled_only = {
        "type": "object",
        "properties": {"enabled": BOOL},
        "description": "Values of the sub-chart; its own values.schema.json checks them.",
    }
    thresholds = obj(
        {
            "notReadyMinutes": integer(1),
            "errorRatio": number(0, 1, exclusive=True),
            "queueOldestPendingSeconds": integer(1),
            "backupMaxAgeHours": integer(1),
            "dbPoolSaturation": number(0, 1, exclusive=True),
        }
    )
    schema = obj(
        {
            "global": global_values(),
            "common": library_values(),
            "api": enabled_only,
            "web": enabled_only,
            "worker": enabled_only,
            "monitoring": obj(
                {
                    "prometheusRule": obj(
                        {"enabled": BOOL, "labels": string_map(), "thresholds": thresholds},
                        required=["enabled"],
                    ),
                    "dashboard": obj(
                        {"enabled": BOOL, "labels": string_map(), "annotations": string_map()},
                        required=["enabled"],
                    ),
                }
            ),
        }
    )
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Values of the Docket umbrella chart",
        **schema,
    }


def schema_for(chart: str) -> Schema:
    return umbrella_schema() if chart == "docket" else service_chart_schema(chart)


# ---------------------------------------------------------------------------------------------
# values.yaml comments and the README parameter table


@dataclass(frozen=True)
class Parameter:
    """One key of values.yaml: its dotted path, the comment above it, and whether it is a leaf."""

    path: str
    description: str
    leaf: bool
    line: int


KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/]+):(?P<rest>.*)$")


def parse_values(path: Path) -> list[Parameter]:
    """Every mapping key of a values.yaml with the comment lines directly above it (list items are values)."""
    lines = path.read_text().splitlines()
    params: list[Parameter] = []
    stack: list[tuple[int, str]] = []  # (indent, key)
    comment: list[str] = []
    list_indent: int | None = None  # inside a list value: its items are not parameters
    for number_, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped:
            comment = []
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if list_indent is not None:
            if indent > list_indent or (indent == list_indent and stripped.startswith("- ")):
                continue
            list_indent = None
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
            continue
        if stripped.startswith("- "):
            # a list directly under the previous key
            list_indent = indent
            comment = []
            continue
        match = KEY.match(raw)
        if not match:
            comment = []
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = match["key"]
        dotted = ".".join([k for _, k in stack] + [key])
        rest = match["rest"].split(" #", 1)[0].strip()
        # a key with nothing after the colon has children (or a list) on the following lines
        leaf = rest != ""
        if not leaf:
            following = next(
                (ln for ln in lines[number_:] if ln.strip() and not ln.strip().startswith("#")), ""
            )
            if following.strip().startswith("- "):
                leaf = True
                list_indent = len(following) - len(following.lstrip(" "))
                if list_indent <= indent:
                    list_indent = indent  # "key:\n- item" at the same indentation
        params.append(Parameter(dotted, " ".join(comment), leaf, number_))
        comment = []
        if not leaf:
            stack.append((indent, key))
    return params


def lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def format_default(value: Any) -> str:
    text = json.dumps(value).replace("|", "\\|")
    return f"`{text}`"


def parameter_table(chart: str) -> str:
    values_path = CHARTS / chart / "values.yaml"
    values = yaml.safe_load(values_path.read_text())
    rows = ["| Key | Default | Description |", "|---|---|---|"]
    for param in parse_values(values_path):
        if not param.leaf:
            continue
        description = param.description.replace("|", "\\|")
        rows.append(f"| `{param.path}` | {format_default(lookup(values, param.path))} | {description} |")
    return "\n".join(rows)


def readme_with_table(chart: str) -> str:
    readme = (CHARTS / chart / "README.md").read_text()
    head, sep, rest = readme.partition(START)
    if not sep:
        raise SystemExit(f"charts/{chart}/README.md has no {START} marker")
    _, sep, tail = rest.partition(END)
    if not sep:
        raise SystemExit(f"charts/{chart}/README.md has no {END} marker")
    return f"{head}{START}\n{parameter_table(chart)}\n{END}{tail}"


# ---------------------------------------------------------------------------------------------


def generated_files() -> dict[Path, str]:
    """Every generated file and the content it should have."""
    files: dict[Path, str] = {}
    for chart in ALL_CHARTS:
        files[CHARTS / chart / "values.schema.json"] = json.dumps(schema_for(chart), indent=2) + "\n"
        files[CHARTS / chart / "README.md"] = readme_with_table(chart)
    return files


def stale_files() -> list[Path]:
    return [path for path, text in generated_files().items() if not path.exists() or path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(CHARTS.parent)} (run python charts/tools/chartgen.py)")
        return 1 if stale else 0
    for path, text in generated_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(CHARTS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

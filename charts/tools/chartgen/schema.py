"""Each chart's values.schema.json, assembled from the shared sections, the Jobs and the settings."""

from __future__ import annotations

from .database import umbrella_postgresql
from .jobs import backup, migration
from .schema_types import (
    BOOL,
    DURATION,
    EXTRA_ENV,
    INT_OR_PERCENT,
    NONEMPTY,
    QUANTITY,
    STRING,
    STRING_LIST,
    Schema,
    free_object,
    integer,
    nullable,
    number,
    obj,
    string_map,
)
from .sections import (
    container_security_context,
    global_values,
    ingress,
    network_policy,
    pod_security_context,
    probe,
    resources,
    service_account,
)
from .settings import CHART_CONFIG, CHART_SECRETS, COMMON_CONFIG


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
        "extraEnv": EXTRA_ENV,
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
        props["service"] = obj(
            {
                "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                "port": integer(1, 65535),
                "annotations": string_map(),
            }
        )
    if chart == "api":
        props["migration"] = migration()
    if chart == "worker":
        props["backup"] = backup()
        props["parentMemoryMB"] = integer(1)
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
            "replicationLagSeconds": integer(1),
        }
    )
    schema = obj(
        {
            "global": global_values(),
            "common": library_values(),
            "api": enabled_only,
            "web": enabled_only,
            "worker": enabled_only,
            "postgresql": umbrella_postgresql(),
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

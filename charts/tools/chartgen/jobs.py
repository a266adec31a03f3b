"""Schemas of the Jobs' values: the api's migration hook and the worker's backup and restore test."""

from __future__ import annotations

from .schema_types import (
    BOOL,
    CRON,
    EXTRA_ENV,
    PEERS,
    PORTS,
    QUANTITY,
    STRING,
    Schema,
    integer,
    obj,
    string_map,
)
from .sections import resources, service_account
from .settings import BACKUP_CONFIG


def job_settings(extra: dict[str, Schema]) -> dict[str, Schema]:
    return {
        "startingDeadlineSeconds": integer(1),
        "backoffLimit": integer(0),
        "activeDeadlineSeconds": integer(1),
        "resources": resources(),
        **extra,
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
                    "egress": obj({"ports": PORTS, "to": PEERS}),
                }
            ),
            "serviceAccount": service_account("The backup Jobs' ServiceAccount."),
            "podAnnotations": string_map(),
            "extraEnv": EXTRA_ENV,
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
            "extraEnv": EXTRA_ENV,
        },
        required=["enabled"],
    )

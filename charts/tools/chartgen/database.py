"""Schema of the umbrella's ``postgresql`` values: the external server's connection budget, or the
CloudNativePG Cluster, Pooler, ObjectStore and ScheduledBackup it renders (``global.postgresql`` picks)."""

from __future__ import annotations

from .schema_types import (
    BOOL,
    DURATION,
    NONEMPTY,
    PEERS,
    STRING,
    Schema,
    integer,
    obj,
    string_map,
)
from .sections import CLUSTER_NAME, resources

STORAGE_SIZE: Schema = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$"}
# CloudNativePG's ScheduledBackup cron: six fields, seconds first (robfig/cron), or a descriptor.
CRON_WITH_SECONDS: Schema = {
    "type": "string",
    "pattern": r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){5}\S+)$",
}


def cnpg() -> Schema:
    object_store = obj(
        {
            "destinationPath": {"type": "string", "pattern": r"^(s3://[^/\s]+(/\S*)?)?$"},
            "endpointURL": {"type": "string", "pattern": r"^(https?://\S+)?$"},
            "existingSecret": STRING,
            "accessKeyIdKey": NONEMPTY,
            "secretAccessKeyKey": NONEMPTY,
            "walCompression": {"enum": ["", "bzip2", "gzip", "lz4", "snappy", "xz", "zstd"]},
            "dataCompression": {"enum": ["", "bzip2", "gzip", "lz4", "snappy"]},
        },
        required=["destinationPath", "existingSecret", "accessKeyIdKey", "secretAccessKeyKey"],
    )
    return obj(
        {
            "instances": integer(1),
            "imageName": STRING,
            "storage": obj({"size": STORAGE_SIZE, "storageClass": STRING}, required=["size"]),
            "resources": resources(),
            "affinity": obj(
                {"podAntiAffinityType": {"enum": ["required", "preferred"]}, "topologyKey": NONEMPTY},
                required=["podAntiAffinityType", "topologyKey"],
            ),
            "parameters": {
                **string_map(),
                "required": ["max_connections"],
                "properties": {"max_connections": {"type": "string", "pattern": "^[1-9][0-9]*$"}},
            },
            "reservedConnections": integer(0),
            "synchronousReplicas": integer(0),
            "keepOnUninstall": BOOL,
            "pooler": obj(
                {
                    "instances": integer(1),
                    "maxClientConnections": integer(1),
                    "defaultPoolSize": integer(1),
                    "reservePoolSize": integer(0),
                    "parameters": string_map(),
                    "resources": resources(),
                },
                required=["instances", "maxClientConnections", "defaultPoolSize", "reservePoolSize"],
            ),
            "backup": obj(
                {
                    "enabled": BOOL,
                    "schedule": CRON_WITH_SECONDS,
                    "retentionPolicy": {"type": "string", "pattern": "^[1-9][0-9]*[dwm]$"},
                    "objectStore": object_store,
                    "sidecarResources": resources(),
                },
                required=["enabled", "schedule", "retentionPolicy", "objectStore"],
            ),
            "recovery": obj(
                {
                    "enabled": BOOL,
                    "sourceCluster": CLUSTER_NAME,
                    "targetTime": STRING,
                },
                required=["enabled"],
            ),
            "podMonitor": obj(
                {"enabled": BOOL, "interval": DURATION, "labels": string_map()}, required=["enabled"]
            ),
            "networkPolicy": obj(
                {"enabled": BOOL, "operatorNamespace": NONEMPTY, "metricsFrom": PEERS},
                required=["enabled", "operatorNamespace"],
            ),
        },
        required=["instances", "storage", "resources", "parameters", "pooler", "backup"],
        desc="The CloudNativePG Cluster, Pooler, ObjectStore and ScheduledBackup of cnpg mode.",
    )


def umbrella_postgresql() -> Schema:
    return obj(
        {"maxConnections": integer(1), "cnpg": cnpg()},
        required=["maxConnections", "cnpg"],
    )

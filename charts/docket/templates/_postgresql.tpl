{{/*
cnpg mode: the names of the CloudNativePG objects this chart renders, and the checks of their values.
The Cluster and Pooler names come from the library chart ("docket.cnpgCluster", "docket.cnpgPooler"),
which the api and worker charts use to build their URLs, so the two always agree.
*/}}

{{/* The Barman Cloud plugin's name, as the Cluster, the recovery source and the ScheduledBackup name it. */}}
{{- define "umbrella.barmanPlugin" -}}
barman-cloud.cloudnative-pg.io
{{- end -}}

{{/* The ObjectStore: one per release, shared by every Cluster of it (each writes under its own name). */}}
{{- define "umbrella.objectStore" -}}
{{- include "docket.releaseQualifiedName" (dict "ctx" . "name" "postgresql-backups") -}}
{{- end -}}

{{/* Whether the ObjectStore is rendered: for WAL archiving and backups, or to recover from. */}}
{{- define "umbrella.needsObjectStore" -}}
{{- $c := .Values.postgresql.cnpg -}}
{{- if or $c.backup.enabled $c.recovery.enabled }}true{{ end -}}
{{- end -}}

{{/* The PgBouncer settings the chart sets from values (and the budget reads), so parameters may not. */}}
{{- define "umbrella.poolerOwnedParameters" -}}
pool_mode,max_client_conn,default_pool_size,reserve_pool_size
{{- end -}}

{{/* Refuse cnpg values that cannot work, naming the value. */}}
{{- define "umbrella.checkCnpg" -}}
{{- $c := .Values.postgresql.cnpg -}}
{{- $cluster := include "docket.cnpgCluster" . -}}
{{- if include "umbrella.needsObjectStore" . -}}
{{- $why := ternary "postgresql.cnpg.backup.enabled" "postgresql.cnpg.recovery.enabled" $c.backup.enabled -}}
{{- if not $c.backup.objectStore.destinationPath -}}
{{- fail (printf "postgresql.cnpg.backup.objectStore.destinationPath is required with %s: the bucket and prefix, s3://bucket/path (or set postgresql.cnpg.backup.enabled=false, which leaves only the nightly pg_dump)" $why) -}}
{{- end -}}
{{- if not $c.backup.objectStore.existingSecret -}}
{{- fail (printf "postgresql.cnpg.backup.objectStore.existingSecret is required with %s: the Secret with the object store's keys %s and %s" $why $c.backup.objectStore.accessKeyIdKey $c.backup.objectStore.secretAccessKeyKey) -}}
{{- end -}}
{{- end -}}
{{- if $c.recovery.enabled -}}
{{- if not $c.recovery.sourceCluster -}}
{{- fail "postgresql.cnpg.recovery.sourceCluster is required with postgresql.cnpg.recovery.enabled: the name of the Cluster whose backups to recover" -}}
{{- end -}}
{{- if eq $c.recovery.sourceCluster $cluster -}}
{{- fail (printf "postgresql.cnpg.recovery.sourceCluster is %q, the Cluster being created: a recovery makes a new Cluster, so give it a new name in global.postgresql.cluster" $cluster) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.global.postgresql.readFromReplicas (lt (int64 $c.instances) 2) -}}
{{- fail (printf "global.postgresql.readFromReplicas needs a hot standby, but postgresql.cnpg.instances is %d: set it to 2 or more" (int64 $c.instances)) -}}
{{- end -}}
{{- if ge (int64 $c.synchronousReplicas) (int64 $c.instances) -}}
{{- fail (printf "postgresql.cnpg.synchronousReplicas (%d) must be below postgresql.cnpg.instances (%d): each synchronous standby is one of the instances" (int64 $c.synchronousReplicas) (int64 $c.instances)) -}}
{{- end -}}
{{- range $key := splitList "," (include "umbrella.poolerOwnedParameters" .) -}}
{{- if hasKey $c.pooler.parameters $key -}}
{{- fail (printf "postgresql.cnpg.pooler.parameters.%s is set by the chart (the pool mode is transaction; the others are postgresql.cnpg.pooler.maxClientConnections, defaultPoolSize and reservePoolSize)" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

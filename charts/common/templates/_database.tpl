{{/*
The data tier as the pods see it: PostgreSQL's mode (external or cnpg), the CloudNativePG names and
the URLs built from its app Secret, and Redis Sentinel. global.postgresql and global.redis are global
because the umbrella renders the Cluster while api, web and worker render the pods that use it.
*/}}

{{/* external (DATABASE_URL from the Secret) or cnpg (the CloudNativePG Cluster of the umbrella). */}}
{{- define "docket.postgresqlMode" -}}
{{- ((.Values.global | default dict).postgresql | default dict).mode | default "external" -}}
{{- end -}}

{{- define "docket.cnpg" -}}
{{- if eq (include "docket.postgresqlMode" .) "cnpg" }}true{{ end -}}
{{- end -}}

{{/* The Cluster's name: global.postgresql.cluster, else "<release>-postgresql" (at most 50 characters). */}}
{{- define "docket.cnpgCluster" -}}
{{- $pg := (.Values.global | default dict).postgresql | default dict -}}
{{- $pg.cluster | default (include "docket.releaseQualifiedName" (dict "ctx" . "name" "postgresql") | trunc 50 | trimSuffix "-") -}}
{{- end -}}

{{/* The PgBouncer Pooler in front of the primary; its Service has the same name. */}}
{{- define "docket.cnpgPooler" -}}
{{- include "docket.cnpgCluster" . }}-pooler-rw
{{- end -}}

{{/* Whether the api reads from the hot standbys (cnpg mode and global.postgresql.readFromReplicas). */}}
{{- define "docket.readFromReplicas" -}}
{{- if and (include "docket.cnpg" .) ((.Values.global | default dict).postgresql | default dict).readFromReplicas }}true{{ end -}}
{{- end -}}

{{/*
The database URLs a component gets in cnpg mode, as "VARIABLE: service" lines:
  api     DATABASE_URL through the pooler; DATABASE_READ_URL at "-ro" (the hot standbys) when reading
          from replicas.
  worker  DATABASE_URL through the pooler; DATABASE_LISTEN_URL at "-rw": a transaction pooler hands
          each transaction to any server connection, so a LISTEN would stay on a connection the worker
          no longer holds and its notifications would never arrive.
  migrate, backup, backup-verify
          DATABASE_URL at "-rw", the primary itself: the migration's advisory lock and DDL, and the
          backup's advisory lock and exported snapshot, are session state that must stay on one server
          connection, which a transaction pooler does not keep; pg_dump reads the primary because a
          standby would cancel a long dump on a replication conflict, and the restore test creates a
          database, which only the primary can.
Takes (dict "ctx" $ "component" "api").
*/}}
{{- define "docket.cnpgUrls" -}}
{{- if eq .component "api" }}
DATABASE_URL: pooler
{{- if include "docket.readFromReplicas" .ctx }}
DATABASE_READ_URL: ro
{{- end }}
{{- else if eq .component "worker" }}
DATABASE_URL: pooler
DATABASE_LISTEN_URL: rw
{{- else if has .component (list "migrate" "backup" "backup-verify") }}
DATABASE_URL: rw
{{- end }}
{{- end -}}

{{/* The host of a Cluster service: pooler, rw or ro. Takes (dict "ctx" $ "service" "rw"). */}}
{{- define "docket.cnpgHost" -}}
{{- $name := ternary (include "docket.cnpgPooler" .ctx) (printf "%s-%s" (include "docket.cnpgCluster" .ctx) .service) (eq .service "pooler") -}}
{{- printf "%s.%s.svc" $name .ctx.Release.Namespace -}}
{{- end -}}

{{/*
The env entries of a component's database URLs in cnpg mode: the user name and password of the
Cluster's "<cluster>-app" Secret (written by the operator; never copied into a ConfigMap or a Secret
of the chart), then each URL, which the kubelet expands from them: $(VAR) refers to an earlier entry.
The operator's generated password is letters and digits, so it needs no escaping in a URL. TLS is
required (the instances and PgBouncer serve the Cluster's certificate; sslmode=require encrypts, and
the pooler's certificate does not name its Service, so verify-full would fail). Nothing in external
mode, where "docket.secretEnv" reads the URLs from the Secret. Takes (dict "ctx" $ "component" "api").
*/}}
{{- define "docket.databaseEnv" -}}
{{- if include "docket.cnpg" .ctx -}}
{{- $urls := include "docket.cnpgUrls" . | fromYaml -}}
{{- if $urls }}
{{- $secret := printf "%s-app" (include "docket.cnpgCluster" .ctx) }}
- name: CNPG_APP_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: username
- name: CNPG_APP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: password
{{- range $variable := keys $urls | sortAlpha }}
- name: {{ $variable }}
  value: {{ printf "postgresql://$(CNPG_APP_USERNAME):$(CNPG_APP_PASSWORD)@%s:5432/docket?sslmode=require" (include "docket.cnpgHost" (dict "ctx" $.ctx "service" (get $urls $variable))) | quote }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
One egress rule to the CloudNativePG pods a component connects to, on 5432: "pooler" (the Pooler's
PgBouncer pods, label cnpg.io/poolerName) and "instances" (the Cluster's PostgreSQL pods, labels
cnpg.io/cluster and cnpg.io/podRole=instance; the pooler's pods carry cnpg.io/cluster too).
Takes (dict "ctx" $ "targets" (list "pooler" "instances")).
*/}}
{{- define "docket.cnpgEgressRule" -}}
- to:
    {{- if has "pooler" .targets }}
    - podSelector:
        matchLabels:
          cnpg.io/poolerName: {{ include "docket.cnpgPooler" .ctx }}
    {{- end }}
    {{- if has "instances" .targets }}
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "docket.cnpgCluster" .ctx }}
          cnpg.io/podRole: instance
    {{- end }}
  ports:
    - protocol: TCP
      port: 5432
{{- end -}}

{{/* The CloudNativePG pods a component reaches: what "docket.cnpgUrls" points it at. Takes (dict "ctx" $ "component" "api"). */}}
{{- define "docket.cnpgTargets" -}}
{{- $targets := list -}}
{{- range $variable, $service := include "docket.cnpgUrls" . | fromYaml -}}
{{- $targets = append $targets (ternary "pooler" "instances" (eq $service "pooler")) -}}
{{- end -}}
{{- $targets | uniq | sortAlpha | join "," -}}
{{- end -}}

{{/*
Refuse config.DATABASE_POOLER=transaction in external mode: the migration and backup Jobs read the
same DATABASE_URL as the pods, and their advisory locks, DDL and exported snapshot need a session on
the primary, which a transaction pooler does not keep. cnpg mode sets it itself and sends the Jobs
to the primary.
*/}}
{{- define "docket.checkPooler" -}}
{{- if and (eq (toString (.Values.config.DATABASE_POOLER | default "none")) "transaction") (not (include "docket.cnpg" .)) -}}
{{- fail "config.DATABASE_POOLER=transaction needs global.postgresql.mode=cnpg: in external mode the migration and backup Jobs share the pods' DATABASE_URL, and their advisory locks, DDL and snapshots need a session on the primary, which a transaction pooler does not keep (a session-mode pooler, DATABASE_POOLER=none, works)" -}}
{{- end -}}
{{- end -}}

{{/*
The Redis Sentinels (host:port, comma-separated): global.redis.sentinels, else config.REDIS_SENTINELS
(a list or a comma-separated string); empty when REDIS_URL is used.
*/}}
{{- define "docket.redisSentinels" -}}
{{- $global := ((.Values.global | default dict).redis | default dict).sentinels | default list -}}
{{- $own := .Values.config.REDIS_SENTINELS | default list -}}
{{- $list := $global | default (ternary (splitList "," (toString $own)) $own (kindIs "string" $own)) -}}
{{- $clean := list -}}
{{- range $list -}}
{{- with trim (toString .) -}}
{{- $clean = append $clean . -}}
{{- end -}}
{{- end -}}
{{- join "," $clean -}}
{{- end -}}

{{/* The master the sentinels watch: global.redis.sentinelMaster, else config.REDIS_SENTINEL_MASTER. */}}
{{- define "docket.redisSentinelMaster" -}}
{{- ((.Values.global | default dict).redis | default dict).sentinelMaster | default .Values.config.REDIS_SENTINEL_MASTER | default "" -}}
{{- end -}}

{{/* Refuse a sentinel list without a master name, or an entry that is not host:port, naming the value. */}}
{{- define "docket.checkRedisSentinels" -}}
{{- $sentinels := include "docket.redisSentinels" . -}}
{{- if $sentinels -}}
{{- $from := ternary "global.redis.sentinels" "config.REDIS_SENTINELS" (not (empty ((.Values.global | default dict).redis | default dict).sentinels)) -}}
{{- range splitList "," $sentinels -}}
{{- if not (regexMatch "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):[0-9]{1,5}$" .) -}}
{{- fail (printf "%s: %q is not host:port" $from .) -}}
{{- end -}}
{{- end -}}
{{- if not (include "docket.redisSentinelMaster" .) -}}
{{- fail (printf "%s is set but no master name: set global.redis.sentinelMaster (or config.REDIS_SENTINEL_MASTER)" $from) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The sentinels' ports, comma-separated and without repeats, for the redis egress rule. */}}
{{- define "docket.redisSentinelPorts" -}}
{{- $ports := list -}}
{{- range splitList "," (include "docket.redisSentinels" .) -}}
{{- if . -}}
{{- $ports = append $ports (regexFind "[0-9]+$" .) -}}
{{- end -}}
{{- end -}}
{{- $ports | uniq | join "," -}}
{{- end -}}

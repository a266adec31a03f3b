{{/*
The PostgreSQL connections the release can open: the sum of each enabled chart's "docket.dbBudget"
(api, web and worker, each from its own values as this chart passes them down), per route. Takes the
root context. total, pooled, direct and read sum the charts' figures (read: the api's DATABASE_READ_URL
pools); in cnpg mode it adds what the Cluster's servers see:
  poolerCapacity  client connections the PgBouncer pods take with one of them down (a rollout, a
                  drain): (pooler.instances - 1, at least 1) x pooler.maxClientConnections
  poolerServers   server connections PgBouncer opens to the primary: (pooler.instances + 1 surging
                  pod) x (defaultPoolSize + reservePoolSize), one pool per user and database
  primary         poolerServers + the direct connections (LISTEN, Jobs) + reservedConnections
  standby         read, all on one standby at worst, + reservedConnections (0 without read)
  maxConnections  postgresql.cnpg.parameters.max_connections, the same on every instance
*/}}
{{- define "umbrella.dbBudget" -}}
{{- $total := 0 -}}
{{- $pooled := 0 -}}
{{- $direct := 0 -}}
{{- $standby := 0 -}}
{{- range $chart := list "api" "web" "worker" -}}
{{- $values := get $.Values $chart -}}
{{- if $values.enabled -}}
{{- $b := include "docket.dbBudget" (dict "values" $values "chart" $chart "global" $.Values.global) | fromYaml -}}
{{- $total = add $total (int64 $b.total) -}}
{{- $pooled = add $pooled (int64 $b.pooled) -}}
{{- $direct = add $direct (int64 $b.direct) -}}
{{- $standby = add $standby (int64 $b.standby) -}}
{{- if $b.total }}
{{ $chart }}: {{ int64 $b.total }}
{{- end }}
{{- end -}}
{{- end }}
total: {{ $total }}
pooled: {{ $pooled }}
direct: {{ $direct }}
read: {{ $standby }}
{{- if include "docket.cnpg" . }}
{{- $c := .Values.postgresql.cnpg }}
{{- $reserved := int64 $c.reservedConnections }}
{{- $poolerServers := mul (add (int64 $c.pooler.instances) 1) (add (int64 $c.pooler.defaultPoolSize) (int64 $c.pooler.reservePoolSize)) }}
poolerCapacity: {{ mul (max 1 (sub (int64 $c.pooler.instances) 1)) (int64 $c.pooler.maxClientConnections) }}
poolerServers: {{ $poolerServers }}
primary: {{ add $poolerServers $direct $reserved }}
standby: {{ ternary (add $standby $reserved) 0 (gt (int64 $standby) 0) }}
maxConnections: {{ int64 (get $c.parameters "max_connections") }}
{{- end }}
{{- end -}}

{{/* Each chart's part, in words, for the messages. */}}
{{- define "umbrella.dbBudgetParts" -}}
{{- $parts := list -}}
{{- range $chart := list "api" "web" "worker" -}}
{{- $values := get $.Values $chart -}}
{{- if $values.enabled -}}
{{- $b := include "docket.dbBudget" (dict "values" $values "chart" $chart "global" $.Values.global) | fromYaml -}}
{{- if $b.total -}}
{{- $parts = append $parts (printf "%s %s" $chart (include "docket.dbBudgetText" (dict "values" $values "chart" $chart "global" $.Values.global))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join "; " $parts -}}
{{- end -}}

{{/*
Refuse a release that can open more connections than the server takes: in external mode more than
postgresql.maxConnections; in cnpg mode more clients than the pooler takes with a pod down, or more
server connections than max_connections on the primary or on a standby.
*/}}
{{- define "umbrella.checkDbBudget" -}}
{{- $budget := include "umbrella.dbBudget" . | fromYaml -}}
{{- $parts := include "umbrella.dbBudgetParts" . -}}
{{- $fix := "lower replicas, autoscaling.maxReplicas, config.WORKERS or config.DB_POOL_MAX_SIZE" -}}
{{- if include "docket.cnpg" . -}}
{{- $c := .Values.postgresql.cnpg -}}
{{- $max := int64 $budget.maxConnections -}}
{{- if gt (int64 $budget.pooled) (int64 $budget.poolerCapacity) -}}
{{- fail (printf "the api and worker pools can open %d connections to the PgBouncer pooler (%s), more than its pods take with one of them down: %d = max(1, postgresql.cnpg.pooler.instances - 1) x postgresql.cnpg.pooler.maxClientConnections (%d x %d); raise those, or %s" (int64 $budget.pooled) $parts (int64 $budget.poolerCapacity) (max 1 (sub (int64 $c.pooler.instances) 1)) (int64 $c.pooler.maxClientConnections) $fix) -}}
{{- end -}}
{{- if gt (int64 $budget.primary) $max -}}
{{- fail (printf "the primary would need %d connections, more than postgresql.cnpg.parameters.max_connections (%d): %d from PgBouncer ((postgresql.cnpg.pooler.instances + 1) x (defaultPoolSize + reservePoolSize)), %d direct (LISTEN and the Jobs: %s) and postgresql.cnpg.reservedConnections (%d); raise max_connections, or lower the pooler's pool sizes" (int64 $budget.primary) $max (int64 $budget.poolerServers) (int64 $budget.direct) $parts (int64 $c.reservedConnections)) -}}
{{- end -}}
{{- if gt (int64 $budget.standby) $max -}}
{{- fail (printf "the api's DATABASE_READ_URL pools can open %d connections, which all may land on one standby, plus postgresql.cnpg.reservedConnections: %d, more than postgresql.cnpg.parameters.max_connections (%d); raise max_connections, or %s, or set global.postgresql.readFromReplicas=false" (int64 $budget.read) (int64 $budget.standby) $max $fix) -}}
{{- end -}}
{{- else -}}
{{- $max := int64 .Values.postgresql.maxConnections -}}
{{- if gt (int64 $budget.total) $max -}}
{{- fail (printf "the release can open %d PostgreSQL connections (%s), more than postgresql.maxConnections (%d): %s, or raise postgresql.maxConnections to what the server allows" (int64 $budget.total) $parts $max $fix) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The PostgreSQL connections the release can open: the sum of each enabled chart's "docket.dbBudget"
(api, web and worker, each from its own values as this chart passes them down). Takes the root context.
*/}}
{{- define "umbrella.dbBudget" -}}
{{- $total := 0 -}}
{{- range $chart := list "api" "web" "worker" -}}
{{- $values := get $.Values $chart -}}
{{- if $values.enabled -}}
{{- $connections := int64 (include "docket.dbConnections" (dict "values" $values "chart" $chart)) -}}
{{- $total = add $total $connections }}
{{ $chart }}: {{ $connections }}
{{- end -}}
{{- end }}
total: {{ $total }}
{{- end -}}

{{/* Refuse a release that can open more connections than postgresql.maxConnections. */}}
{{- define "umbrella.checkDbBudget" -}}
{{- $budget := include "umbrella.dbBudget" . | fromYaml -}}
{{- $max := int64 .Values.postgresql.maxConnections -}}
{{- if gt (int64 $budget.total) $max -}}
{{- $parts := list -}}
{{- range $chart := list "api" "web" "worker" -}}
{{- if get $budget $chart -}}
{{- $parts = append $parts (printf "%s %s" $chart (include "docket.dbBudgetText" (dict "values" (get $.Values $chart) "chart" $chart))) -}}
{{- end -}}
{{- end -}}
{{- fail (printf "the release can open %d PostgreSQL connections (%s), more than postgresql.maxConnections (%d): lower replicas, autoscaling.maxReplicas, config.WORKERS or config.DB_POOL_MAX_SIZE, or raise postgresql.maxConnections to what the server allows" (int64 $budget.total) (join "; " $parts) $max) -}}
{{- end -}}
{{- end -}}


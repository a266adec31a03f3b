{{/* Budgets: the PostgreSQL connections a chart can open, and quantities turned into numbers. */}}

{{/*
The most pods a Deployment can run: the autoscaler's maxReplicas when it is on, else replicaCount,
plus the extra pods of a rolling update (updateStrategy.maxSurge; a percentage rounds up, as the
Deployment controller rounds it). Takes the chart's values.
*/}}
{{- define "docket.maxPods" -}}
{{- $replicas := int64 .replicaCount -}}
{{- if .autoscaling.enabled -}}
{{- $replicas = int64 .autoscaling.maxReplicas -}}
{{- end -}}
{{- $surge := .updateStrategy.maxSurge | default 0 -}}
{{- if kindIs "string" $surge -}}
{{- $percent := int64 (trimSuffix "%" $surge) -}}
{{- $surge = div (add (mul $replicas $percent) 99) 100 -}}
{{- end -}}
{{- add $replicas (int64 $surge) -}}
{{- end -}}

{{/*
The PostgreSQL connections one chart's settings can open at most, as YAML:
  pods       the most pods ("docket.maxPods")
  processes  server processes per pod (config.WORKERS)
  pool       connections of each process's pool (config.DB_POOL_MAX_SIZE): to the server, or in cnpg
             mode to the PgBouncer pooler
  listen     the worker's LISTEN connection for queue notifications, per process: to the server, or in
             cnpg mode to the primary (-rw), past the pooler
  read       in cnpg mode with global.postgresql.readFromReplicas, the api's pool of DATABASE_READ_URL
             per process (the size of its main pool), to a hot standby (-ro)
  jobs       the Jobs that connect besides, to the server or the primary: the migration Job (1), the
             backup run (3: its advisory lock, the exported snapshot and pg_dump) and the restore test (1)
  pooled     pods x processes x pool (cnpg: the pooler's clients)
  direct     pods x processes x listen + jobs (cnpg: straight to the primary)
  standby    pods x processes x read (cnpg: on a standby)
  total      pooled + direct + standby: every connection the chart can open
The web opens none. Takes (dict "values" .Values "chart" "api"), so the umbrella can ask it of each
sub-chart's values, and optionally "global" (the umbrella's global values, else .values.global).
*/}}
{{- define "docket.dbBudget" -}}
{{- $v := .values -}}
{{- $ctx := dict "Values" (dict "global" (.global | default $v.global | default dict)) -}}
{{- $pods := int64 (include "docket.maxPods" $v) -}}
{{- $processes := int64 ($v.config.WORKERS | default 1) -}}
{{- $pool := 0 -}}
{{- $listen := 0 -}}
{{- $read := 0 -}}
{{- $jobs := 0 -}}
{{- if hasKey $v.secrets "DATABASE_URL" -}}
{{- $pool = int64 ($v.config.DB_POOL_MAX_SIZE | default 10) -}}
{{- end -}}
{{- if eq .chart "worker" -}}
{{- $listen = 1 -}}
{{- if $v.backup.enabled -}}
{{- $jobs = add $jobs 3 -}}
{{- if $v.backup.verify.enabled -}}
{{- $jobs = add $jobs 1 -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq .chart "api" -}}
{{- if $v.migration.enabled -}}
{{- $jobs = add $jobs 1 -}}
{{- end -}}
{{- if include "docket.readFromReplicas" $ctx -}}
{{- $read = $pool -}}
{{- end -}}
{{- end -}}
{{- $pooled := mul $pods $processes $pool -}}
{{- $direct := add (mul $pods $processes $listen) $jobs -}}
{{- $standby := mul $pods $processes $read -}}
cnpg: {{ ternary true false (eq (include "docket.cnpg" $ctx) "true") }}
pods: {{ $pods }}
processes: {{ $processes }}
pool: {{ $pool }}
listen: {{ $listen }}
read: {{ $read }}
jobs: {{ $jobs }}
pooled: {{ $pooled }}
direct: {{ $direct }}
standby: {{ $standby }}
total: {{ add $pooled $direct $standby }}
{{- end -}}

{{/* The total of "docket.dbBudget". Takes (dict "values" .Values "chart" "api"). */}}
{{- define "docket.dbConnections" -}}
{{- int64 (include "docket.dbBudget" . | fromYaml).total -}}
{{- end -}}

{{/* "docket.dbBudget" in words, for NOTES.txt. Takes (dict "values" .Values "chart" "api"). */}}
{{- define "docket.dbBudgetText" -}}
{{- $b := include "docket.dbBudget" . | fromYaml -}}
{{- $processes := ternary "process" "processes" (eq (int64 $b.processes) 1) -}}
{{- if $b.cnpg -}}
{{- printf "%d = %d pods x %d %s x (%d through the pooler + %d to -rw + %d to -ro) + %d for Jobs (to -rw)" (int64 $b.total) (int64 $b.pods) (int64 $b.processes) $processes (int64 $b.pool) (int64 $b.listen) (int64 $b.read) (int64 $b.jobs) -}}
{{- else -}}
{{- printf "%d = %d pods x %d %s x %d connections + %d for Jobs" (int64 $b.total) (int64 $b.pods) (int64 $b.processes) $processes (add (int64 $b.pool) (int64 $b.listen)) (int64 $b.jobs) -}}
{{- end -}}
{{- end -}}

{{/*
A memory quantity (resources.limits.memory: "2560Mi", "2Gi", "3G", "512M", or a number of bytes) in
whole MiB, rounded down.
*/}}
{{- define "docket.quantityMiB" -}}
{{- $text := include "docket.envValue" . -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $text -}}
{{- $suffix := trimPrefix $number $text -}}
{{- $factors := dict "" 1.0 "k" 1000.0 "K" 1000.0 "Ki" 1024.0 "M" 1000000.0 "Mi" 1048576.0 "G" 1000000000.0 "Gi" 1073741824.0 "T" 1000000000000.0 "Ti" 1099511627776.0 -}}
{{- if not (and $number (hasKey $factors $suffix)) -}}
{{- fail (printf "cannot read the memory quantity %q (use e.g. 2560Mi or 3Gi)" $text) -}}
{{- end -}}
{{- int64 (floor (divf (mulf (float64 $number) (get $factors $suffix)) 1048576.0)) -}}
{{- end -}}

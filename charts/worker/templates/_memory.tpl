{{/*
The worker's memory budget, as MiB:
  WORKERS x (WORKER_CONCURRENCY x WORKER_EXTRACT_MEMORY_MB + parentMemoryMB)
Each job may parse a file in a child process whose address space is capped at
WORKER_EXTRACT_MEMORY_MB, up to WORKER_CONCURRENCY at once in each of the WORKERS processes, and each
process itself needs parentMemoryMB. Above resources.limits.memory the kernel OOM-kills the pod, and
with it every job in flight, long before a child's own limit stops it.
*/}}
{{- define "worker.memoryNeedMiB" -}}
{{- $config := .Values.config -}}
{{- $perProcess := add (mul (int64 $config.WORKER_CONCURRENCY) (int64 $config.WORKER_EXTRACT_MEMORY_MB)) (int64 .Values.parentMemoryMB) -}}
{{- mul (int64 ($config.WORKERS | default 1)) $perProcess -}}
{{- end -}}

{{/* Refuse settings whose memory budget does not fit the container's memory limit. */}}
{{- define "worker.checkMemory" -}}
{{- $need := int64 (include "worker.memoryNeedMiB" .) -}}
{{- $limit := int64 (include "docket.quantityMiB" .Values.resources.limits.memory) -}}
{{- if gt $need $limit -}}
{{- $c := .Values.config -}}
{{- fail (printf "config.WORKER_CONCURRENCY (%d) x config.WORKER_EXTRACT_MEMORY_MB (%d) + parentMemoryMB (%d)%s = %d MiB does not fit resources.limits.memory (%s = %d MiB): lower the concurrency or the per-file memory, or raise the limit" (int64 $c.WORKER_CONCURRENCY) (int64 $c.WORKER_EXTRACT_MEMORY_MB) (int64 .Values.parentMemoryMB) (ternary "" (printf ", times config.WORKERS (%d)," (int64 $c.WORKERS)) (eq (int64 ($c.WORKERS | default 1)) 1)) $need (toString .Values.resources.limits.memory) $limit) -}}
{{- end -}}
{{- end -}}

{{/* Settings: ENVIRONMENT, environment values as the services read them, and the ConfigMap. */}}

{{/* ENVIRONMENT: global.environment wins over config.ENVIRONMENT. */}}
{{- define "docket.environment" -}}
{{- (.Values.global | default dict).environment | default .Values.config.ENVIRONMENT | default "local" -}}
{{- end -}}

{{- define "docket.isProduction" -}}
{{- if eq (include "docket.environment" .) "production" }}true{{ end -}}
{{- end -}}

{{/*
One environment value as the service reads it: whole numbers without an exponent (Helm reads every
number as a float64), lists joined with commas, booleans as true/false.
*/}}
{{- define "docket.envValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq . (float64 (int64 .)) -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else if kindIs "slice" . -}}
{{- join "," . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/*
The non-secret settings (config.*) as ConfigMap data, with the values the chart owns filled in:
ENVIRONMENT (global.environment first), RELEASE (the image tag unless set), DATABASE_POOLER
(transaction in cnpg mode, where DATABASE_URL is the PgBouncer Pooler), REDIS_SENTINELS and
REDIS_SENTINEL_MASTER (global.redis first) and, for the web service, API_URL (the api Service of the
same release unless set).
Empty values are left out so the service falls back to its documented default.
*/}}
{{- define "docket.configData" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "ENVIRONMENT" (include "docket.environment" .) -}}
{{- if not $config.RELEASE -}}
{{- $_ := set $config "RELEASE" (include "docket.imageTag" .) -}}
{{- end -}}
{{- include "docket.checkRedisSentinels" . -}}
{{- include "docket.checkPooler" . -}}
{{- if and (hasKey $config "DATABASE_POOLER") (include "docket.cnpg" .) -}}
{{- $_ := set $config "DATABASE_POOLER" "transaction" -}}
{{- end -}}
{{- if hasKey $config "REDIS_SENTINELS" -}}
{{- $_ := set $config "REDIS_SENTINELS" (include "docket.redisSentinels" .) -}}
{{- $_ := set $config "REDIS_SENTINEL_MASTER" (include "docket.redisSentinelMaster" .) -}}
{{- end -}}
{{- if and (hasKey $config "API_URL") (not $config.API_URL) -}}
{{- $api := include "docket.releaseQualifiedName" (dict "ctx" . "name" "api") -}}
{{- $_ := set $config "API_URL" (printf "http://%s:8000" $api) -}}
{{- end -}}
{{- range $key := keys $config | sortAlpha }}
{{- $value := get $config $key }}
{{- if and (not (kindIs "invalid" $value)) (ne (include "docket.envValue" $value) "") }}
{{ $key }}: {{ include "docket.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The ConfigMap of non-secret settings. Takes (dict "ctx" $ "name" "..." "hook" dict). */}}
{{- define "docket.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  {{- with .hook }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
data:
  {{- include "docket.configData" .ctx | trim | nindent 2 }}
{{- end -}}

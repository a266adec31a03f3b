{{/* Secrets: which keys, which Secret, the production checks, the env references and the chart's own Secret. */}}

{{/* The keys of the chart's Secret: those of .Values.secrets (the schema fixes them per chart). */}}
{{- define "docket.secretKeys" -}}
{{- keys .Values.secrets | sortAlpha | join "," -}}
{{- end -}}

{{/* The keys a pod cannot start without; the others (SENTRY_DSN, JWT_SECRET_PREVIOUS) are optional. */}}
{{- define "docket.requiredSecretKeys" -}}
{{- $required := list -}}
{{- range $key := list "DATABASE_URL" "REDIS_URL" "JWT_SECRET" "CSRF_SECRET" -}}
{{- if hasKey $.Values.secrets $key -}}
{{- $required = append $required $key -}}
{{- end -}}
{{- end -}}
{{- join "," $required -}}
{{- end -}}

{{/* The Secret the pods read: existingSecret, global.existingSecret, or the chart's own. */}}
{{- define "docket.secretName" -}}
{{- .Values.existingSecret | default (.Values.global | default dict).existingSecret | default (include "docket.fullname" .) -}}
{{- end -}}

{{- define "docket.createSecret" -}}
{{- if not (.Values.existingSecret | default (.Values.global | default dict).existingSecret) }}true{{ end -}}
{{- end -}}

{{/*
Refuse placeholder secrets in production. A chart-created Secret in ENVIRONMENT=production must carry
real values for every required key: not empty, not one of the development defaults below, and
JWT_SECRET / CSRF_SECRET of at least 32 bytes. Takes the root context; reads .Values.secrets and the chart's
required keys from "docket.requiredSecretKeys".
*/}}
{{- define "docket.checkSecrets" -}}
{{- if and (include "docket.isProduction" .) (include "docket.createSecret" .) -}}
{{- $placeholders := list "changeme" "change-me" "postgresql://docket:docket@docket-postgres:5432/docket" "redis://docket-redis:6379/0" "docket-local-development-secret-do-not-use" "docket-web-local-development-csrf-key-do-not-use" -}}
{{- range $key := splitList "," (include "docket.requiredSecretKeys" .) -}}
{{- $value := get $.Values.secrets $key | default "" | toString -}}
{{- if not $value -}}
{{- fail (printf "secrets.%s is required when ENVIRONMENT=production and no existingSecret is set" $key) -}}
{{- end -}}
{{- if has $value $placeholders -}}
{{- fail (printf "secrets.%s still holds a development placeholder; ENVIRONMENT=production needs a real value or an existingSecret" $key) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "JWT_SECRET" "CSRF_SECRET" -}}
{{- if and (hasKey $.Values.secrets $key) (lt (len (get $.Values.secrets $key | default "" | toString)) 32) -}}
{{- fail (printf "secrets.%s must be at least 32 bytes when ENVIRONMENT=production" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Environment variables read from the Secret, one secretKeyRef per key. Keys listed in
"docket.requiredSecretKeys" must exist; the others (e.g. SENTRY_DSN) are optional.
Takes (dict "ctx" $ "name" "<secret>"); an empty name means "docket.secretName".
*/}}
{{- define "docket.secretEnv" -}}
{{- $secretName := .name | default (include "docket.secretName" .ctx) -}}
{{- $required := splitList "," (include "docket.requiredSecretKeys" .ctx) -}}
{{- range $key := splitList "," (include "docket.secretKeys" .ctx) }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $key }}
      {{- if not (has $key $required) }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* The data of the chart-created Secret: required keys always, optional ones when set. */}}
{{- define "docket.secretData" -}}
{{- $required := splitList "," (include "docket.requiredSecretKeys" .) -}}
{{- range $key := splitList "," (include "docket.secretKeys" .) }}
{{- $value := get $.Values.secrets $key | default "" | toString }}
{{- if or $value (has $key $required) }}
{{ $key }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The chart-created Secret. Takes (dict "ctx" $ "name" "..." "hook" dict). */}}
{{- define "docket.secret" -}}
{{- if include "docket.createSecret" .ctx }}
{{- include "docket.checkSecrets" .ctx }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  {{- with .hook }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
type: Opaque
data:
  {{- include "docket.secretData" .ctx | trim | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Secrets: which keys, which Secret, generated signing keys, the checks, the env references and the chart's own Secret. */}}

{{/* The keys of the chart's Secret: those of .Values.secrets (the schema fixes them per chart). */}}
{{- define "docket.secretKeys" -}}
{{- keys .Values.secrets | sortAlpha | join "," -}}
{{- end -}}

{{/*
The keys of the Secret the chart's pods read, and the chart-created Secret holds: the chart's keys less
the database URLs in cnpg mode (built from the Cluster's app Secret, "docket.databaseEnv").
*/}}
{{- define "docket.podSecretKeys" -}}
{{- $cnpg := include "docket.cnpg" . -}}
{{- $keys := list -}}
{{- range $key := splitList "," (include "docket.secretKeys" .) -}}
{{- if not (and $cnpg (has $key (list "DATABASE_URL" "DATABASE_READ_URL" "DATABASE_LISTEN_URL"))) -}}
{{- $keys = append $keys $key -}}
{{- end -}}
{{- end -}}
{{- join "," $keys -}}
{{- end -}}

{{/*
The keys a pod cannot start without; the others (SENTRY_DSN, JWT_SECRET_PREVIOUS, ...) are optional.
With Redis Sentinel REDIS_URL is optional too: it then gives only the password, user, database number
and TLS, and a Redis without a password needs none.
*/}}
{{- define "docket.requiredSecretKeys" -}}
{{- $required := list -}}
{{- $podKeys := splitList "," (include "docket.podSecretKeys" .) -}}
{{- $sentinels := include "docket.redisSentinels" . -}}
{{- range $key := list "DATABASE_URL" "REDIS_URL" "JWT_SECRET" "CSRF_SECRET" -}}
{{- if and (has $key $podKeys) (not (and $sentinels (eq $key "REDIS_URL"))) -}}
{{- $required = append $required $key -}}
{{- end -}}
{{- end -}}
{{- join "," $required -}}
{{- end -}}

{{/* The signing keys the chart generates when they are empty: JWT_SECRET (api), CSRF_SECRET (web). */}}
{{- define "docket.signingKeys" -}}
{{- $found := list -}}
{{- range $key := list "JWT_SECRET" "CSRF_SECRET" -}}
{{- if hasKey $.Values.secrets $key -}}
{{- $found = append $found $key -}}
{{- end -}}
{{- end -}}
{{- join "," $found -}}
{{- end -}}

{{/* The development signing keys the services use in local and test; never acceptable elsewhere. */}}
{{- define "docket.developmentKeys" -}}
docket-local-development-secret-do-not-use,docket-web-local-development-csrf-key-do-not-use
{{- end -}}

{{/* The Secret the pods read: existingSecret, global.existingSecret, or the chart's own. */}}
{{- define "docket.secretName" -}}
{{- .Values.existingSecret | default (.Values.global | default dict).existingSecret | default (include "docket.fullname" .) -}}
{{- end -}}

{{- define "docket.createSecret" -}}
{{- if not (.Values.existingSecret | default (.Values.global | default dict).existingSecret) }}true{{ end -}}
{{- end -}}

{{/*
Fill in the signing keys left empty, once per render: the key already stored in the chart's Secret in
the cluster (`lookup`, so an upgrade keeps it and signed tokens stay valid), else 48 random characters
(about 285 bits). A stored key shorter than 32 bytes or equal to a development key is replaced. The
key is set in .Values.secrets, so the Secret and the pods' checksum annotation see the same one, and
its name is added to .Values._generatedSigningKeys (a memo of this render, not a value), so the
NOTES can tell a generated key from a given one. Without a cluster (helm template, --dry-run=client)
lookup finds nothing and every render generates new keys. Only for a chart-created Secret: an
existingSecret is read, never written.
*/}}
{{- define "docket.generateSigningKeys" -}}
{{- if include "docket.createSecret" . -}}
{{- $stored := (lookup "v1" "Secret" .Release.Namespace (include "docket.fullname" .)).data | default dict -}}
{{- $development := splitList "," (include "docket.developmentKeys" .) -}}
{{- $generated := .Values._generatedSigningKeys | default list -}}
{{- range $key := splitList "," (include "docket.signingKeys" $) -}}
{{- if and $key (not (get $.Values.secrets $key)) -}}
{{- $kept := get $stored $key | default "" | b64dec -}}
{{- if or (lt (len $kept) 32) (has $kept $development) -}}
{{- $kept = randAlphaNum 48 -}}
{{- end -}}
{{- $_ := set $.Values.secrets $key $kept -}}
{{- $generated = append $generated $key -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values "_generatedSigningKeys" $generated -}}
{{- end -}}
{{- end -}}

{{/* The signing keys of this chart that are generated (or kept from the cluster), comma-separated. */}}
{{- define "docket.generatedSigningKeys" -}}
{{- include "docket.generateSigningKeys" . -}}
{{- join "," (.Values._generatedSigningKeys | default list) -}}
{{- end -}}

{{/* The database and Redis URLs of k8s/dev (development only), the charts' default secrets. */}}
{{- define "docket.developmentServiceUrls" -}}
postgresql://docket:docket@docket-postgres:5432/docket,redis://docket-redis:6379/0
{{- end -}}

{{/* Whether the chart-created Secret points at the development PostgreSQL or Redis of k8s/dev. */}}
{{- define "docket.usesDevelopmentServices" -}}
{{- if include "docket.createSecret" . -}}
{{- $development := splitList "," (include "docket.developmentServiceUrls" .) -}}
{{- $podKeys := splitList "," (include "docket.podSecretKeys" .) -}}
{{- range $key := list "DATABASE_URL" "REDIS_URL" -}}
{{- if and (has $key $podKeys) (has (get $.Values.secrets $key | default "" | toString) $development) }}true{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Refuse unsafe values in a chart-created Secret:
* outside local and test, a JWT_SECRET or CSRF_SECRET that is given must be at least 32 bytes and not
  a development key (an empty one is generated, see "docket.generateSigningKeys");
* in production, DATABASE_URL (external mode) and REDIS_URL (unless Redis Sentinel makes it optional)
  must be set and no placeholder, and the URLs of the development PostgreSQL and Redis (k8s/dev) are
  refused unless global.devServices is true.
*/}}
{{- define "docket.checkSecrets" -}}
{{- if include "docket.createSecret" . -}}
{{- $environment := include "docket.environment" . -}}
{{- if not (has $environment (list "local" "test")) -}}
{{- range $key := splitList "," (include "docket.signingKeys" .) -}}
{{- $value := get $.Values.secrets $key | default "" | toString -}}
{{- if and $key $value (has $value (splitList "," (include "docket.developmentKeys" $))) -}}
{{- fail (printf "secrets.%s is a development key, which ENVIRONMENT=%s refuses; leave it empty for a generated key, or give a random value" $key $environment) -}}
{{- end -}}
{{- if and $key $value (lt (len $value) 32) -}}
{{- fail (printf "secrets.%s must be at least 32 bytes when ENVIRONMENT=%s (leave it empty for a generated key)" $key $environment) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if include "docket.isProduction" . -}}
{{- $placeholders := list "changeme" "change-me" -}}
{{- $devServices := (.Values.global | default dict).devServices -}}
{{- $podKeys := splitList "," (include "docket.podSecretKeys" .) -}}
{{- range $key := list "DATABASE_URL" "REDIS_URL" -}}
{{- if has $key $podKeys -}}
{{- $value := get $.Values.secrets $key | default "" | toString -}}
{{- if and (not $value) (has $key (splitList "," (include "docket.requiredSecretKeys" $))) -}}
{{- fail (printf "secrets.%s is required when ENVIRONMENT=production and no existingSecret is set" $key) -}}
{{- end -}}
{{- if has $value $placeholders -}}
{{- fail (printf "secrets.%s still holds a placeholder; ENVIRONMENT=production needs a real value or an existingSecret" $key) -}}
{{- end -}}
{{- if and (has $value (splitList "," (include "docket.developmentServiceUrls" $))) (not $devServices) -}}
{{- fail (printf "secrets.%s points at the development service of k8s/dev, which global.devServices=false refuses; give your database's and Redis's URLs, or an existingSecret" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Environment variables read from the Secret, one secretKeyRef per key. Keys listed in
"docket.requiredSecretKeys" must exist; the others (e.g. SENTRY_DSN) are optional.
Takes (dict "ctx" $ "name" "<secret>" "keys" (list "DATABASE_URL")); an empty name means
"docket.secretName", no keys means every key the pods read ("docket.podSecretKeys"); a key they do not
read in this mode (DATABASE_URL in cnpg mode) is left out.
*/}}
{{- define "docket.secretEnv" -}}
{{- $secretName := .name | default (include "docket.secretName" .ctx) -}}
{{- $required := splitList "," (include "docket.requiredSecretKeys" .ctx) -}}
{{- $podKeys := splitList "," (include "docket.podSecretKeys" .ctx) -}}
{{- range $key := .keys | default $podKeys }}
{{- if has $key $podKeys }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $key }}
      {{- if not (has $key $required) }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The data of a chart-created Secret: required keys always, optional ones when set; signing keys left
empty are generated first. Takes the root context, or (dict "ctx" $ "keys" (list ...)) for a subset.
*/}}
{{- define "docket.secretData" -}}
{{- $ctx := .ctx | default . -}}
{{- include "docket.generateSigningKeys" $ctx -}}
{{- $required := splitList "," (include "docket.requiredSecretKeys" $ctx) -}}
{{- $podKeys := splitList "," (include "docket.podSecretKeys" $ctx) -}}
{{- range $key := .keys | default $podKeys }}
{{- $value := get $ctx.Values.secrets $key | default "" | toString }}
{{- if and (has $key $podKeys) (or $value (has $key $required)) }}
{{ $key }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The chart-created Secret. Takes (dict "ctx" $ "name" "..." "hook" dict "keys" list). */}}
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
  {{- include "docket.secretData" (dict "ctx" .ctx "keys" .keys) | trim | nindent 2 }}
{{- end }}
{{- end -}}

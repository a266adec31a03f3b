{{/* Paragraphs the charts' NOTES.txt share: generated keys, trusted proxies, development services, connections. */}}

{{/* Where the generated signing keys are, and how to read them. */}}
{{- define "docket.notesSigningKeys" -}}
{{- range $key := splitList "," (include "docket.generatedSigningKeys" .) }}
{{- if $key }}

{{ $key }} was generated at install (48 random characters) and is kept across upgrades in the Secret {{ include "docket.fullname" $ }}:
   kubectl -n {{ $.Release.Namespace }} get secret {{ include "docket.fullname" $ }} -o jsonpath='{.data.{{ $key }}}' | base64 -d
   Removing it from the Secret makes the next upgrade generate a new one{{ if eq $key "JWT_SECRET" }}, which signs everyone out{{ end }}.
{{- end }}
{{- end }}
{{- end -}}

{{/* TRUSTED_PROXIES: a warning for ranges wider than a /16, a reminder while the kind default is in place. */}}
{{- define "docket.notesTrustedProxies" -}}
{{- with include "docket.wideTrustedProxies" . }}

WARNING: config.TRUSTED_PROXIES holds {{ . }}, wider than a /16: any pod there that can reach the service may
         claim any client address in X-Forwarded-For and so dodge the per-client rate limits and login
         throttling. Name only the ingress controller's pods{{ if eq $.Chart.Name "api" }} and the web pods{{ end }} (OPERATIONS.md, Trusted proxies).
{{- end }}
{{- if and .Values.ingress.enabled (eq (include "docket.trustedProxies" .) "10.244.0.0/16") }}

NOTE: config.TRUSTED_PROXIES is the chart's default, 10.244.0.0/16, kind's pod network. On any other cluster set
      it to the addresses of your ingress controller's pods{{ if eq .Chart.Name "api" }} and of the web pods{{ end }} (OPERATIONS.md, Trusted proxies).
{{- end }}
{{- end -}}

{{/* Production pointed at the development PostgreSQL or Redis of k8s/dev. */}}
{{- define "docket.notesDevServices" -}}
{{- if and (include "docket.isProduction" .) (include "docket.usesDevelopmentServices" .) }}

WARNING: the chart-created Secret points at the development PostgreSQL or Redis of k8s/dev
         (secrets.DATABASE_URL / secrets.REDIS_URL), which have fixed passwords and no backups of their own.
         For production give your own (or global.existingSecret) and set global.devServices=false.
{{- end }}
{{- end -}}

{{/* The connection budget of this chart. */}}
{{- define "docket.notesDbBudget" -}}
{{- $b := include "docket.dbBudget" (dict "values" .Values "chart" .Chart.Name) | fromYaml }}
{{- if $b.total }}

PostgreSQL connections this chart can open at most: {{ include "docket.dbBudgetText" (dict "values" .Values "chart" .Chart.Name) }}
   (also the Deployment's annotation docket/postgresql-connections); keep the sum over the charts within the server's max_connections.
{{- end }}
{{- end -}}

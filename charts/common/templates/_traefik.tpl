{{/* Traefik's edge limits: the Middleware objects the Ingress refers to. */}}

{{- define "docket.traefikMiddlewareNames" -}}
{{- $names := list "https-redirect" "security-headers" "body-limit" -}}
{{- if .Values.ingress.rateLimit.enabled -}}
{{- $names = concat $names (list "rate-limit" "in-flight") -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/* Traefik Middlewares: redirectScheme, headers (HSTS), buffering (body size), rateLimit, inFlightReq. */}}
{{- define "docket.traefikMiddlewares" -}}
{{- $ing := .Values.ingress -}}
{{- if and $ing.enabled (eq (include "docket.ingressController" .) "traefik") }}
{{- $rl := $ing.rateLimit }}
{{- $labels := include "docket.labels" (dict "ctx" .) }}
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "https-redirect") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  redirectScheme:
    scheme: https
    permanent: true
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "security-headers") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  headers:
    stsSeconds: {{ $ing.hsts.maxAgeSeconds | int64 }}
    stsIncludeSubdomains: {{ $ing.hsts.includeSubdomains }}
    stsPreload: {{ $ing.hsts.preload }}
    forceSTSHeader: false
    contentTypeNosniff: true
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "body-limit") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  buffering:
    maxRequestBodyBytes: {{ include "docket.ingressMaxBody" . }}
{{- if $rl.enabled }}
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "rate-limit") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  rateLimit:
    average: {{ $rl.requestsPerSecond | int64 }}
    period: 1s
    burst: {{ mul $rl.requestsPerSecond $rl.burstMultiplier }}
    sourceCriterion:
      ipStrategy:
        depth: {{ $ing.traefik.ipStrategyDepth | int64 }}
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "in-flight") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  inFlightReq:
    amount: {{ $rl.connections | int64 }}
    sourceCriterion:
      ipStrategy:
        depth: {{ $ing.traefik.ipStrategyDepth | int64 }}
{{- end }}
{{- end }}
{{- end -}}

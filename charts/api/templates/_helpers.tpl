{{/*
Shared template code of the Docket charts (api, web, worker).

This file is byte-for-byte identical in charts/api, charts/web and charts/worker (a test checks it):
Helm keeps one template namespace per release, so in the umbrella chart the three copies define the
same names with the same bodies. Chart-specific templates live in the other files.

Every helper that needs more than the root context takes a dict: (dict "ctx" $ "component" "api").
*/}}

{{/* NetworkPolicy egress rules shared by every Docket pod: DNS, PostgreSQL, Redis, Sentry, OTLP. */}}
{{- define "docket.egressRules" -}}
{{- $egress := .Values.networkPolicy.egress -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $egress.dns.namespace }}
      podSelector:
        {{- toYaml $egress.dns.podSelector | nindent 8 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- range $name := list "postgresql" "redis" "sentry" "otlp" }}
{{- $rule := get $egress $name }}
{{- if $rule.enabled }}
- ports:
    {{- range $rule.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $rule.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- with $egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The namespace of the ingress controller allowed to reach web and api. */}}
{{- define "docket.ingressControllerNamespace" -}}
{{- .Values.networkPolicy.ingressControllerNamespace | default (ternary "traefik" "ingress-nginx" (eq (include "docket.ingressController" .) "traefik")) -}}
{{- end -}}

{{/* The ingress rule admitting Prometheus to the "http" port (metrics and probes). */}}
{{- define "docket.metricsIngressRule" -}}
{{- with .Values.networkPolicy.metricsNamespace }}
- from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ . }}
  ports:
    - protocol: TCP
      port: http
{{- end }}
{{- end -}}

{{/*
Ingress for this chart's Service on one path of the shared host, with TLS (cert-manager or an existing
Secret), HTTP to HTTPS redirect, HSTS, a body-size limit and edge rate limits for the chosen controller.
The Traefik Middleware objects it refers to come from "docket.traefikMiddlewares".
*/}}
{{/* The ingress controller: global.ingress.controller wins over ingress.controller. */}}
{{- define "docket.ingressController" -}}
{{- ((.Values.global | default dict).ingress | default dict).controller | default (.Values.ingress | default dict).controller | default "nginx" -}}
{{- end -}}

{{- define "docket.ingressHost" -}}
{{- ((.Values.global | default dict).ingress | default dict).host | default .Values.ingress.host -}}
{{- end -}}

{{- define "docket.ingressTlsSecret" -}}
{{- $globalTls := ((.Values.global | default dict).ingress | default dict).tls | default dict -}}
{{- .Values.ingress.tls.existingSecret | default $globalTls.existingSecret | default (include "docket.suffixedName" (dict "ctx" . "suffix" "tls")) -}}
{{- end -}}

{{- define "docket.ingressClusterIssuer" -}}
{{- $globalTls := ((.Values.global | default dict).ingress | default dict).tls | default dict -}}
{{- if not (.Values.ingress.tls.existingSecret | default $globalTls.existingSecret) -}}
{{- $globalTls.clusterIssuer | default .Values.ingress.tls.clusterIssuer -}}
{{- end -}}
{{- end -}}

{{/*
The edge body-size limit: ingress.maxBodyBytes, else what the service itself accepts - MAX_UPLOAD_BYTES
plus the 64 KiB the services allow for multipart framing, times UPLOAD_MAX_FILES for the web form.
*/}}
{{- define "docket.ingressMaxBody" -}}
{{- if .Values.ingress.maxBodyBytes -}}
{{- include "docket.envValue" .Values.ingress.maxBodyBytes -}}
{{- else -}}
{{- $upload := int64 (.Values.config.MAX_UPLOAD_BYTES | default 20971520) -}}
{{- $files := int64 (.Values.config.UPLOAD_MAX_FILES | default 1) -}}
{{- mul (add $upload 65536) $files -}}
{{- end -}}
{{- end -}}

{{- define "docket.traefikMiddlewareNames" -}}
{{- $names := list "https-redirect" "security-headers" "body-limit" -}}
{{- if .Values.ingress.rateLimit.enabled -}}
{{- $names = concat $names (list "rate-limit" "in-flight") -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{- define "docket.ingress" -}}
{{- $ing := .Values.ingress -}}
{{- if $ing.enabled }}
{{- $host := include "docket.ingressHost" . }}
{{- if not $host }}
{{- fail "ingress.host (or global.ingress.host) is required when ingress.enabled is true" }}
{{- end }}
{{- $controller := include "docket.ingressController" . }}
{{- $rl := $ing.rateLimit }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
  annotations:
    {{- with include "docket.ingressClusterIssuer" . }}
    cert-manager.io/cluster-issuer: {{ . | quote }}
    {{- end }}
    {{- if eq $controller "nginx" }}
    nginx.ingress.kubernetes.io/ssl-redirect: "true"
    nginx.ingress.kubernetes.io/force-ssl-redirect: "true"
    nginx.ingress.kubernetes.io/proxy-body-size: {{ include "docket.ingressMaxBody" . | quote }}
    {{- /* uploads stream through to the service, and event streams (SSE) flow without buffering */}}
    nginx.ingress.kubernetes.io/proxy-request-buffering: "off"
    nginx.ingress.kubernetes.io/proxy-buffering: "off"
    nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"
    {{- if $rl.enabled }}
    nginx.ingress.kubernetes.io/limit-rps: {{ $rl.requestsPerSecond | quote }}
    nginx.ingress.kubernetes.io/limit-burst-multiplier: {{ $rl.burstMultiplier | quote }}
    nginx.ingress.kubernetes.io/limit-connections: {{ $rl.connections | quote }}
    {{- end }}
    {{- else }}
    traefik.ingress.kubernetes.io/router.entrypoints: {{ join "," $ing.traefik.entryPoints | quote }}
    {{- $middlewares := list }}
    {{- range splitList "," (include "docket.traefikMiddlewareNames" .) }}
    {{- $middlewares = append $middlewares (printf "%s-%s@kubernetescrd" $.Release.Namespace (include "docket.suffixedName" (dict "ctx" $ "suffix" .))) }}
    {{- end }}
    traefik.ingress.kubernetes.io/router.middlewares: {{ join "," $middlewares | quote }}
    {{- end }}
    {{- with $ing.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  ingressClassName: {{ $ing.className | default $controller }}
  tls:
    - hosts:
        - {{ $host | quote }}
      secretName: {{ include "docket.ingressTlsSecret" . }}
  rules:
    - host: {{ $host | quote }}
      http:
        paths:
          - path: {{ $ing.path }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "docket.fullname" . }}
                port:
                  name: http
{{- end }}
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

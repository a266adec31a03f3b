{{/* The Ingress: controller, host, TLS, and the nginx edge limits. */}}

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

{{/*
Ingress for this chart's Service on one path of the shared host, with TLS (cert-manager or an existing
Secret), HTTP to HTTPS redirect, HSTS, a body-size limit and edge rate limits for the chosen controller.
The Traefik Middleware objects it refers to come from "docket.traefikMiddlewares".
*/}}
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

{{/* NetworkPolicy rules every Docket pod shares. */}}

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

{{/* The ingress rule admitting the ingress controller to the "http" port (web and api). */}}
{{- define "docket.ingressControllerRule" -}}
# the ingress controller
- from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ include "docket.ingressControllerNamespace" . }}
  ports:
    - protocol: TCP
      port: http
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

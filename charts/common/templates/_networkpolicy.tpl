{{/* NetworkPolicy rules every Docket pod shares. */}}

{{/*
Egress rules: cluster DNS, then each peer of "peers" whose networkPolicy.egress.<peer> is enabled.
Every rule names its destinations: an enabled rule without "to" peers fails, naming the value,
rather than opening its ports to any address. In cnpg mode "postgresql" is the CloudNativePG pods the
component connects to ("docket.cnpgTargets"), whatever networkPolicy.egress.postgresql says; with
Redis Sentinel the sentinels' ports join networkPolicy.egress.redis.ports.
Takes (dict "ctx" $ "component" "api" "peers" (list "postgresql" "redis")).
*/}}
{{- define "docket.egressRules" -}}
{{- $egress := .ctx.Values.networkPolicy.egress -}}
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
{{- range $name := .peers }}
{{- $rule := get $egress $name }}
{{- if and (eq $name "postgresql") (include "docket.cnpg" $.ctx) }}
{{- with include "docket.cnpgTargets" (dict "ctx" $.ctx "component" $.component) }}
{{ include "docket.cnpgEgressRule" (dict "ctx" $.ctx "targets" (splitList "," .)) }}
{{- end }}
{{- else if $rule.enabled }}
{{- $ports := list }}
{{- range $rule.ports }}
{{- $ports = append $ports (int64 .) }}
{{- end }}
{{- if eq $name "redis" }}
{{- range $port := splitList "," (include "docket.redisSentinelPorts" $.ctx) }}
{{- if and $port (not (has (int64 $port) $ports)) }}
{{- $ports = append $ports (int64 $port) }}
{{- end }}
{{- end }}
{{- end }}
{{- include "docket.egressRule" (dict "name" (printf "networkPolicy.egress.%s" $name) "ports" $ports "to" $rule.to) }}
{{- end }}
{{- end }}
{{- with $egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
One egress rule to named peers on TCP ports. Takes (dict "name" "<value path>" "ports" list "to" list);
an empty "to" fails, naming "<value path>.to".
*/}}
{{- define "docket.egressRule" -}}
{{- if not .to }}
{{- fail (printf "%s.to is empty: name the destinations (a podSelector, a namespaceSelector or an ipBlock), so the rule does not open its ports to every address" .name) }}
{{- end }}
- to:
    {{- toYaml .to | nindent 4 }}
  ports:
    {{- range .ports }}
    - protocol: TCP
      port: {{ . }}
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

{{/* The ingress rule admitting the monitoring peers (networkPolicy.metricsFrom) to the "management" port. */}}
{{- define "docket.metricsIngressRule" -}}
{{- with .Values.networkPolicy.metricsFrom }}
# the monitoring peers: /metrics (and the probe paths) on the management port
- from:
    {{- toYaml . | nindent 4 }}
  ports:
    - protocol: TCP
      port: management
{{- end }}
{{- end -}}

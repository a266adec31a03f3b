{{/* The Services in front of the main workload, and its ServiceMonitor. */}}

{{/* The Service the Ingress targets: only the named port "http" (the public one). */}}
{{- define "docket.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port | int64 }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* The container port of the management listener: MANAGEMENT_PORT, or PORT for the worker (its only port). */}}
{{- define "docket.managementPort" -}}
{{- include "docket.envValue" (.Values.config.MANAGEMENT_PORT | default .Values.config.PORT) -}}
{{- end -}}

{{/*
The metrics Service "<fullname>-metrics": headless, only the named port "management", labelled
app.kubernetes.io/component=metrics so that nothing but the ServiceMonitor selects it. Created with
the ServiceMonitor; no Ingress ever points at it.
*/}}
{{- define "docket.metricsService" -}}
{{- if .Values.metrics.serviceMonitor.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "metrics") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" . "component" "metrics") | nindent 4 }}
spec:
  type: ClusterIP
  clusterIP: None
  selector:
    {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 4 }}
  ports:
    - name: management
      port: {{ include "docket.managementPort" . }}
      targetPort: management
      protocol: TCP
{{- end }}
{{- end -}}

{{/* ServiceMonitor scraping /metrics on the management port, through the metrics Service. */}}
{{- define "docket.serviceMonitor" -}}
{{- $sm := .Values.metrics.serviceMonitor -}}
{{- if $sm.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "docket.selectorLabels" (dict "ctx" . "component" "metrics") | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: management
      path: /metrics
      scheme: http
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
{{- end -}}

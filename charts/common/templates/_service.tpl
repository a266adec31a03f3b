{{/* The Service in front of the main workload and its ServiceMonitor. */}}

{{/* The Service in front of the main workload, on the named port "http". */}}
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

{{/* ServiceMonitor for this chart's Service. */}}
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
      {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: http
      path: /metrics
      scheme: http
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
{{- end -}}

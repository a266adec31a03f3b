{{/* Availability: the PodDisruptionBudget and the HorizontalPodAutoscaler. */}}

{{/* PodDisruptionBudget on? pdb.enabled true/false wins; unset means "when more than one replica". */}}
{{- define "docket.pdbEnabled" -}}
{{- $replicas := .Values.replicaCount | int -}}
{{- if .Values.autoscaling.enabled -}}
{{- $replicas = .Values.autoscaling.minReplicas | int -}}
{{- end -}}
{{- if kindIs "bool" .Values.pdb.enabled -}}
{{- if .Values.pdb.enabled }}true{{ end -}}
{{- else if gt $replicas 1 -}}
true
{{- end -}}
{{- end -}}

{{/* PodDisruptionBudget for the main workload. */}}
{{- define "docket.pdb" -}}
{{- if include "docket.pdbEnabled" . }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .Values.pdb.minAvailable) }}
  minAvailable: {{ include "docket.envValue" .Values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ include "docket.envValue" .Values.pdb.maxUnavailable }}
  {{- end }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 6 }}
{{- end }}
{{- end -}}

{{/* HorizontalPodAutoscaler (opt-in) with a behavior block. */}}
{{- define "docket.hpa" -}}
{{- $as := .Values.autoscaling -}}
{{- if $as.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "docket.fullname" . }}
  minReplicas: {{ $as.minReplicas | int64 }}
  maxReplicas: {{ $as.maxReplicas | int64 }}
  metrics:
    {{- with $as.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ . | int64 }}
    {{- end }}
    {{- with $as.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . | int64 }}
    {{- end }}
  behavior:
    {{- toYaml $as.behavior | nindent 4 }}
{{- end }}
{{- end -}}

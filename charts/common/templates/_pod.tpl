{{/* What every Docket pod shares: its ServiceAccount, pod spec fields, spreading, /tmp and annotations. */}}

{{/* The ServiceAccount name. Takes (dict "ctx" $ "sa" .Values.serviceAccount "suffix" ""). */}}
{{- define "docket.serviceAccountName" -}}
{{- $default := include "docket.fullname" .ctx -}}
{{- if .suffix -}}
{{- $default = include "docket.suffixedName" (dict "ctx" .ctx "suffix" .suffix) -}}
{{- end -}}
{{- if .sa.create -}}
{{- .sa.name | default $default -}}
{{- else -}}
{{- .sa.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount. Takes (dict "ctx" $ "sa" .Values.serviceAccount "suffix" "" "component" "api" "hook" dict). */}}
{{- define "docket.serviceAccount" -}}
{{- if .sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "docket.serviceAccountName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  {{- $annotations := merge (dict) (.hook | default dict) (.sa.annotations | default dict) }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}

{{/*
Pod spec fields every Docket pod shares: service account, security context, scheduling, image pull
secrets, no service links. Takes (dict "ctx" $ "serviceAccountName" "..." "component" "api").
*/}}
{{- define "docket.podCommon" -}}
serviceAccountName: {{ .serviceAccountName }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- include "docket.podSecurityContext" .ctx | nindent 2 }}
{{- include "docket.imagePullSecrets" .ctx }}
{{- with .ctx.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .ctx.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .ctx.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .ctx.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Spread replicas across nodes. Takes (dict "ctx" $ "component" "api"). */}}
{{- define "docket.topologySpread" -}}
{{- $spread := .ctx.Values.topologySpread -}}
{{- if $spread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ $spread.maxSkew | int64 }}
    topologyKey: {{ $spread.topologyKey }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "docket.selectorLabels" . | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end -}}

{{/* The writable /tmp every container gets (the root filesystem is read-only). */}}
{{- define "docket.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{- define "docket.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* The Deployment's pod-template annotations: checksums of the config and of the chart's Secret. */}}
{{- define "docket.podAnnotations" -}}
checksum/config: {{ include "docket.configData" . | sha256sum }}
{{- if include "docket.createSecret" . }}
checksum/secret: {{ include "docket.secretData" . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

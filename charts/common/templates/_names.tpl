{{/* Names: the chart, the release-qualified object names and the component. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "docket.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: "<release>-<chart>" unless the release name already contains it. */}}
{{- define "docket.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<suffix>", kept within 63 characters. Takes (dict "ctx" $ "suffix" "migrate"). */}}
{{- define "docket.suffixedName" -}}
{{- $full := include "docket.fullname" .ctx -}}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .suffix)))) .suffix | trimSuffix "-" -}}
{{- end -}}

{{- define "docket.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The component of this chart's main workload (api, web or worker). */}}
{{- define "docket.component" -}}
{{- .Chart.Name -}}
{{- end -}}

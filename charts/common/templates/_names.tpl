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
{{- include "docket.releaseQualifiedName" (dict "ctx" . "name" (default .Chart.Name .Values.nameOverride)) -}}
{{- end -}}
{{- end -}}

{{/*
"<release>-<name>", or the release name alone when it already contains <name>: the name a Docket chart
gives its objects, so the umbrella and the web can name another chart's objects. Takes
(dict "ctx" $ "name" "api").
*/}}
{{- define "docket.releaseQualifiedName" -}}
{{- if contains .name .ctx.Release.Name -}}
{{- .ctx.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .ctx.Release.Name .name | trunc 63 | trimSuffix "-" -}}
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

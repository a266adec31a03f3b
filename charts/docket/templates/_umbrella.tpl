{{/* Helpers of the umbrella chart only; the sub-charts share charts/<name>/templates/_helpers.tpl. */}}

{{/* The object name a sub-chart gives its main workload: "<release>-<chart>" (see docket.fullname). */}}
{{- define "umbrella.subFullname" -}}
{{- if contains .name .ctx.Release.Name -}}
{{- .ctx.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .ctx.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "umbrella.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: monitoring
app.kubernetes.io/version: {{ (.Values.global.image.tag | default .Chart.AppVersion) | quote }}
app.kubernetes.io/part-of: docket
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

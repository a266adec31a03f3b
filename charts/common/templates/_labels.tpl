{{/* Labels: the standard app.kubernetes.io set, and the stable subset selectors use. */}}

{{/* Selector labels: only the stable ones. Takes (dict "ctx" $ "component" "api"). */}}
{{- define "docket.selectorLabels" -}}
app.kubernetes.io/name: {{ include "docket.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component | default (include "docket.component" .ctx) }}
{{- end -}}

{{/* Every label. Takes (dict "ctx" $ "component" "api"). */}}
{{- define "docket.labels" -}}
{{ include "docket.selectorLabels" . }}
app.kubernetes.io/version: {{ include "docket.imageTag" .ctx | quote }}
app.kubernetes.io/part-of: docket
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "docket.chart" .ctx }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

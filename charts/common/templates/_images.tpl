{{/* Images: the pinned tag, the full reference and the pull secrets. */}}

{{/*
The image tag: image.tag, else global.image.tag, else the chart's appVersion. Never "latest".
The umbrella has no image of its own: its objects are labelled with global.image.tag or its appVersion.
*/}}
{{- define "docket.imageTag" -}}
{{- $global := (.Values.global | default dict).image | default dict -}}
{{- $tag := (.Values.image | default dict).tag | default $global.tag | default .Chart.AppVersion | toString -}}
{{- if or (eq $tag "latest") (hasSuffix ":latest" $tag) -}}
{{- fail "image.tag: \"latest\" is not allowed; pin a version (or a digest) so rollouts and rollbacks are repeatable" -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{/* The full image reference: [global.image.registry/]image.repository:tag */}}
{{- define "docket.image" -}}
{{- $global := (.Values.global | default dict).image | default dict -}}
{{- $repo := .Values.image.repository -}}
{{- if $global.registry -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" $global.registry) $repo -}}
{{- end -}}
{{- printf "%s:%s" $repo (include "docket.imageTag" .) -}}
{{- end -}}

{{- define "docket.imagePullSecrets" -}}
{{- $secrets := concat ((.Values.global | default dict).imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq -}}
{{- with $secrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

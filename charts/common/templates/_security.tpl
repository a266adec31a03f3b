{{/* The restricted Pod Security profile, enforced whatever the values add. */}}

{{/* Pod-level security context: the restricted profile, whatever the values add. */}}
{{- define "docket.podSecurityContext" -}}
{{- $ctx := deepCopy (.Values.podSecurityContext | default dict) -}}
{{- $_ := set $ctx "runAsNonRoot" true -}}
{{- $_ := set $ctx "seccompProfile" ($ctx.seccompProfile | default (dict "type" "RuntimeDefault")) -}}
{{- toYaml $ctx -}}
{{- end -}}

{{/* Container-level security context: the restricted profile, whatever the values add. */}}
{{- define "docket.containerSecurityContext" -}}
{{- $ctx := deepCopy (.Values.containerSecurityContext | default dict) -}}
{{- $_ := set $ctx "runAsNonRoot" true -}}
{{- $_ := set $ctx "allowPrivilegeEscalation" false -}}
{{- $_ := set $ctx "readOnlyRootFilesystem" true -}}
{{- $_ := set $ctx "privileged" false -}}
{{- $caps := deepCopy ($ctx.capabilities | default dict) -}}
{{- $_ := set $caps "drop" (list "ALL") -}}
{{- $_ := set $ctx "capabilities" $caps -}}
{{- $_ := set $ctx "seccompProfile" ($ctx.seccompProfile | default (dict "type" "RuntimeDefault")) -}}
{{- toYaml $ctx -}}
{{- end -}}

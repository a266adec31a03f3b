{{/* Client addresses: the proxies whose X-Forwarded-For a service believes (config.TRUSTED_PROXIES). */}}

{{/* config.TRUSTED_PROXIES as a comma-separated list without blanks (it may be a list or a string). */}}
{{- define "docket.trustedProxies" -}}
{{- $value := .Values.config.TRUSTED_PROXIES | default list -}}
{{- if kindIs "string" $value -}}
{{- $value = splitList "," $value -}}
{{- end -}}
{{- $entries := list -}}
{{- range $value -}}
{{- with trim (toString .) -}}
{{- $entries = append $entries . -}}
{{- end -}}
{{- end -}}
{{- join "," $entries -}}
{{- end -}}

{{/*
With an Ingress in production, a service must know its proxies: without them it counts the ingress
controller's (or the web pod's) address as every client's, so all anonymous clients share one
rate-limit bucket and one login budget.
*/}}
{{- define "docket.checkTrustedProxies" -}}
{{- if and (include "docket.isProduction" .) .Values.ingress.enabled (not (include "docket.trustedProxies" .)) -}}
{{- fail (printf "config.TRUSTED_PROXIES is empty: with an Ingress, ENVIRONMENT=production needs the addresses of the ingress controller's pods%s (their pod network, e.g. 10.244.0.0/16; see OPERATIONS.md, Trusted proxies), or every client shares one rate limit" (ternary " and of the web pods" "" (eq .Chart.Name "api"))) -}}
{{- end -}}
{{- end -}}

{{/*
The entries of config.TRUSTED_PROXIES wider than a /16 (65,536 addresses: an IPv4 prefix under 16, an
IPv6 prefix under 112), comma-separated. Any pod those ranges hold that can reach the service may
claim any client address in X-Forwarded-For.
*/}}
{{- define "docket.wideTrustedProxies" -}}
{{- $wide := list -}}
{{- range $entry := splitList "," (include "docket.trustedProxies" .) -}}
{{- if $entry -}}
{{- if contains "/" $entry -}}
{{- $prefix := int (regexReplaceAll "^.*/" $entry "") -}}
{{- if lt $prefix (ternary 112 16 (contains ":" $entry)) -}}
{{- $wide = append $wide $entry -}}
{{- end -}}
{{- else if eq $entry "*" -}}
{{- $wide = append $wide $entry -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join "," $wide -}}
{{- end -}}

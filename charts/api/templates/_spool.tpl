{{/*
Uploads are spooled (memory, then files in /tmp) before they are stored, up to UPLOAD_SPOOL_MAX_BYTES per
server process. Every process may fill its budget at once, so WORKERS x UPLOAD_SPOOL_MAX_BYTES must fit the
/tmp emptyDir (tmpSizeLimit); past it the kubelet evicts the pod with every upload in it.
*/}}
{{- define "api.checkSpool" -}}
{{- $c := .Values.config -}}
{{- if $c.UPLOAD_SPOOL_MAX_BYTES -}}
{{- $workers := int64 ($c.WORKERS | default 1) -}}
{{- $needMiB := div (mul $workers (int64 $c.UPLOAD_SPOOL_MAX_BYTES)) 1048576 -}}
{{- $limitMiB := int64 (include "docket.quantityMiB" .Values.tmpSizeLimit) -}}
{{- if gt $needMiB $limitMiB -}}
{{- fail (printf "config.WORKERS (%d) x config.UPLOAD_SPOOL_MAX_BYTES (%d) = %d MiB does not fit tmpSizeLimit (%s = %d MiB): lower the spool budget or raise tmpSizeLimit" $workers (int64 $c.UPLOAD_SPOOL_MAX_BYTES) $needMiB (toString .Values.tmpSizeLimit) $limitMiB) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The main Deployment and its container: probes, graceful shutdown. */}}

{{/*
The three probes on the named port "management", the listener that serves only /healthz, /readyz and
/metrics: startup and liveness ask /healthz (the process answers), readiness asks /readyz
(dependencies answer; false once shutdown began).
*/}}
{{- define "docket.probes" -}}
{{- range $kind := list "startupProbe" "livenessProbe" "readinessProbe" }}
{{- $probe := get $.Values $kind }}
{{- if $probe.enabled }}
{{ $kind }}:
  httpGet:
    path: {{ ternary "/readyz" "/healthz" (eq $kind "readinessProbe") }}
    port: management
  {{- range $field := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
  {{- if hasKey $probe $field }}
  {{ $field }}: {{ include "docket.envValue" (get $probe $field) }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the value if set, else SHUTDOWN_GRACE_SECONDS + preStop sleep + 15 s
of margin. It must exceed SHUTDOWN_GRACE_SECONDS + preStop, or the kubelet kills in-flight work.
*/}}
{{- define "docket.terminationGrace" -}}
{{- $grace := int64 (.Values.config.SHUTDOWN_GRACE_SECONDS | default 30 | float64 | ceil) -}}
{{- $sleep := int64 (.Values.lifecycle.preStopSleepSeconds | default 0) -}}
{{- $period := .Values.terminationGracePeriodSeconds | default (add $grace $sleep 15) | int64 -}}
{{- if le $period (add $grace $sleep) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than config.SHUTDOWN_GRACE_SECONDS + lifecycle.preStopSleepSeconds (%d)" $period (add $grace $sleep)) -}}
{{- end -}}
{{- $period -}}
{{- end -}}

{{/* preStop: sleep while endpoints and the ingress controller stop sending traffic. */}}
{{- define "docket.lifecycle" -}}
{{- if .Values.lifecycle.preStopSleepSeconds }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .Values.lifecycle.preStopSleepSeconds | int64 }}
{{- end }}
{{- end -}}

{{/*
The container ports: "http" (PORT, the public one the Service and the Ingress use) and "management"
(MANAGEMENT_PORT: probes and metrics) for a public service; only "management" (PORT) for the worker.
Takes (dict "ctx" $ "public" true).
*/}}
{{- define "docket.containerPorts" -}}
{{- if .public }}
- name: http
  containerPort: {{ include "docket.envValue" .ctx.Values.config.PORT }}
  protocol: TCP
{{- end }}
- name: management
  containerPort: {{ include "docket.managementPort" .ctx }}
  protocol: TCP
{{- end -}}

{{/*
The main Deployment: the service's CLI (the image's entrypoint; only its arguments are set here) with
the restricted security context, honest probes on the named port "management", a preStop sleep, and a
rollout that never drops below the desired replicas. Its annotation docket/postgresql-connections is
the most PostgreSQL connections the chart's settings can open ("docket.dbConnections").
Takes (dict "ctx" $ "args" (list "serve") "public" true).
*/}}
{{- define "docket.deployment" -}}
{{- $args := .args -}}
{{- $public := .public -}}
{{- with .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
  annotations:
    docket/postgresql-connections: {{ include "docket.dbConnections" (dict "values" .Values "chart" .Chart.Name) | quote }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount | int64 }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit | int64 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: {{ include "docket.envValue" .Values.updateStrategy.maxSurge }}
  selector:
    matchLabels:
      {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "docket.labels" (dict "ctx" .) | nindent 8 }}
      annotations:
        {{- include "docket.podAnnotations" . | nindent 8 }}
    spec:
      {{- include "docket.podCommon" (dict "ctx" . "serviceAccountName" (include "docket.serviceAccountName" (dict "ctx" . "sa" .Values.serviceAccount))) | nindent 6 }}
      {{- include "docket.topologySpread" (dict "ctx" .) | nindent 6 }}
      terminationGracePeriodSeconds: {{ include "docket.terminationGrace" . }}
      containers:
        - name: {{ include "docket.component" . }}
          image: {{ include "docket.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          # no command: the image's entrypoint is tini and the service's CLI (docket-api, docket-web, docket-worker)
          args:
            {{- toYaml $args | nindent 12 }}
          ports:
            {{- include "docket.containerPorts" (dict "ctx" . "public" $public) | trim | nindent 12 }}
          envFrom:
            - configMapRef:
                name: {{ include "docket.fullname" . }}
          env:
            {{- include "docket.secretEnv" (dict "ctx" .) | trim | nindent 12 }}
            {{- with include "docket.databaseEnv" (dict "ctx" . "component" (include "docket.component" .)) | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "docket.probes" . | trim | nindent 10 }}
          {{- include "docket.lifecycle" . | trim | nindent 10 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "docket.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "docket.tmpMount" . | nindent 12 }}
      volumes:
        {{- include "docket.tmpVolume" . | nindent 8 }}
{{- end }}
{{- end -}}

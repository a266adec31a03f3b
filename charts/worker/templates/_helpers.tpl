{{/*
Shared template code of the Docket charts (api, web, worker).

This file is byte-for-byte identical in charts/api, charts/web and charts/worker (a test checks it):
Helm keeps one template namespace per release, so in the umbrella chart the three copies define the
same names with the same bodies. Chart-specific templates live in the other files.

Every helper that needs more than the root context takes a dict: (dict "ctx" $ "component" "api").
*/}}

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

{{/*
The three probes on the named port "http": startup and liveness ask /healthz (the process answers),
readiness asks /readyz (dependencies answer; false once shutdown began).
*/}}
{{- define "docket.probes" -}}
{{- range $kind := list "startupProbe" "livenessProbe" "readinessProbe" }}
{{- $probe := get $.Values $kind }}
{{- if $probe.enabled }}
{{ $kind }}:
  httpGet:
    path: {{ ternary "/readyz" "/healthz" (eq $kind "readinessProbe") }}
    port: http
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

{{/* PodDisruptionBudget on? pdb.enabled true/false wins; unset means "when more than one replica". */}}
{{- define "docket.pdbEnabled" -}}
{{- $replicas := .Values.replicaCount | int -}}
{{- if .Values.autoscaling.enabled -}}
{{- $replicas = .Values.autoscaling.minReplicas | int -}}
{{- end -}}
{{- if kindIs "bool" .Values.pdb.enabled -}}
{{- if .Values.pdb.enabled }}true{{ end -}}
{{- else if gt $replicas 1 -}}
true
{{- end -}}
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

{{/* NetworkPolicy egress rules shared by every Docket pod: DNS, PostgreSQL, Redis, Sentry, OTLP. */}}
{{- define "docket.egressRules" -}}
{{- $egress := .Values.networkPolicy.egress -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $egress.dns.namespace }}
      podSelector:
        {{- toYaml $egress.dns.podSelector | nindent 8 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- range $name := list "postgresql" "redis" "sentry" "otlp" }}
{{- $rule := get $egress $name }}
{{- if $rule.enabled }}
- ports:
    {{- range $rule.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $rule.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- with $egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The namespace of the ingress controller allowed to reach web and api. */}}
{{- define "docket.ingressControllerNamespace" -}}
{{- .Values.networkPolicy.ingressControllerNamespace | default (ternary "traefik" "ingress-nginx" (eq (include "docket.ingressController" .) "traefik")) -}}
{{- end -}}

{{/* The ingress rule admitting Prometheus to the "http" port (metrics and probes). */}}
{{- define "docket.metricsIngressRule" -}}
{{- with .Values.networkPolicy.metricsNamespace }}
- from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ . }}
  ports:
    - protocol: TCP
      port: http
{{- end }}
{{- end -}}

{{/* ServiceMonitor for this chart's Service. */}}
{{- define "docket.serviceMonitor" -}}
{{- $sm := .Values.metrics.serviceMonitor -}}
{{- if $sm.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: http
      path: /metrics
      scheme: http
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
{{- end -}}

{{/*
Ingress for this chart's Service on one path of the shared host, with TLS (cert-manager or an existing
Secret), HTTP to HTTPS redirect, HSTS, a body-size limit and edge rate limits for the chosen controller.
The Traefik Middleware objects it refers to come from "docket.traefikMiddlewares".
*/}}
{{/* The ingress controller: global.ingress.controller wins over ingress.controller. */}}
{{- define "docket.ingressController" -}}
{{- ((.Values.global | default dict).ingress | default dict).controller | default (.Values.ingress | default dict).controller | default "nginx" -}}
{{- end -}}

{{- define "docket.ingressHost" -}}
{{- ((.Values.global | default dict).ingress | default dict).host | default .Values.ingress.host -}}
{{- end -}}

{{- define "docket.ingressTlsSecret" -}}
{{- $globalTls := ((.Values.global | default dict).ingress | default dict).tls | default dict -}}
{{- .Values.ingress.tls.existingSecret | default $globalTls.existingSecret | default (include "docket.suffixedName" (dict "ctx" . "suffix" "tls")) -}}
{{- end -}}

{{- define "docket.ingressClusterIssuer" -}}
{{- $globalTls := ((.Values.global | default dict).ingress | default dict).tls | default dict -}}
{{- if not (.Values.ingress.tls.existingSecret | default $globalTls.existingSecret) -}}
{{- $globalTls.clusterIssuer | default .Values.ingress.tls.clusterIssuer -}}
{{- end -}}
{{- end -}}

{{/*
The edge body-size limit: ingress.maxBodyBytes, else what the service itself accepts - MAX_UPLOAD_BYTES
plus the 64 KiB the services allow for multipart framing, times UPLOAD_MAX_FILES for the web form.
*/}}
{{- define "docket.ingressMaxBody" -}}
{{- if .Values.ingress.maxBodyBytes -}}
{{- include "docket.envValue" .Values.ingress.maxBodyBytes -}}
{{- else -}}
{{- $upload := int64 (.Values.config.MAX_UPLOAD_BYTES | default 20971520) -}}
{{- $files := int64 (.Values.config.UPLOAD_MAX_FILES | default 1) -}}
{{- mul (add $upload 65536) $files -}}
{{- end -}}
{{- end -}}

{{- define "docket.traefikMiddlewareNames" -}}
{{- $names := list "https-redirect" "security-headers" "body-limit" -}}
{{- if .Values.ingress.rateLimit.enabled -}}
{{- $names = concat $names (list "rate-limit" "in-flight") -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{- define "docket.ingress" -}}
{{- $ing := .Values.ingress -}}
{{- if $ing.enabled }}
{{- $host := include "docket.ingressHost" . }}
{{- if not $host }}
{{- fail "ingress.host (or global.ingress.host) is required when ingress.enabled is true" }}
{{- end }}
{{- $controller := include "docket.ingressController" . }}
{{- $rl := $ing.rateLimit }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
  annotations:
    {{- with include "docket.ingressClusterIssuer" . }}
    cert-manager.io/cluster-issuer: {{ . | quote }}
    {{- end }}
    {{- if eq $controller "nginx" }}
    nginx.ingress.kubernetes.io/ssl-redirect: "true"
    nginx.ingress.kubernetes.io/force-ssl-redirect: "true"
    nginx.ingress.kubernetes.io/proxy-body-size: {{ include "docket.ingressMaxBody" . | quote }}
    {{- /* uploads stream through to the service, and event streams (SSE) flow without buffering */}}
    nginx.ingress.kubernetes.io/proxy-request-buffering: "off"
    nginx.ingress.kubernetes.io/proxy-buffering: "off"
    nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"
    {{- if $rl.enabled }}
    nginx.ingress.kubernetes.io/limit-rps: {{ $rl.requestsPerSecond | quote }}
    nginx.ingress.kubernetes.io/limit-burst-multiplier: {{ $rl.burstMultiplier | quote }}
    nginx.ingress.kubernetes.io/limit-connections: {{ $rl.connections | quote }}
    {{- end }}
    {{- else }}
    traefik.ingress.kubernetes.io/router.entrypoints: {{ join "," $ing.traefik.entryPoints | quote }}
    {{- $middlewares := list }}
    {{- range splitList "," (include "docket.traefikMiddlewareNames" .) }}
    {{- $middlewares = append $middlewares (printf "%s-%s@kubernetescrd" $.Release.Namespace (include "docket.suffixedName" (dict "ctx" $ "suffix" .))) }}
    {{- end }}
    traefik.ingress.kubernetes.io/router.middlewares: {{ join "," $middlewares | quote }}
    {{- end }}
    {{- with $ing.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  ingressClassName: {{ $ing.className | default $controller }}
  tls:
    - hosts:
        - {{ $host | quote }}
      secretName: {{ include "docket.ingressTlsSecret" . }}
  rules:
    - host: {{ $host | quote }}
      http:
        paths:
          - path: {{ $ing.path }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "docket.fullname" . }}
                port:
                  name: http
{{- end }}
{{- end -}}

{{/* Traefik Middlewares: redirectScheme, headers (HSTS), buffering (body size), rateLimit, inFlightReq. */}}
{{- define "docket.traefikMiddlewares" -}}
{{- $ing := .Values.ingress -}}
{{- if and $ing.enabled (eq (include "docket.ingressController" .) "traefik") }}
{{- $rl := $ing.rateLimit }}
{{- $labels := include "docket.labels" (dict "ctx" .) }}
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "https-redirect") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  redirectScheme:
    scheme: https
    permanent: true
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "security-headers") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  headers:
    stsSeconds: {{ $ing.hsts.maxAgeSeconds | int64 }}
    stsIncludeSubdomains: {{ $ing.hsts.includeSubdomains }}
    stsPreload: {{ $ing.hsts.preload }}
    forceSTSHeader: false
    contentTypeNosniff: true
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "body-limit") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  buffering:
    maxRequestBodyBytes: {{ include "docket.ingressMaxBody" . }}
{{- if $rl.enabled }}
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "rate-limit") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  rateLimit:
    average: {{ $rl.requestsPerSecond | int64 }}
    period: 1s
    burst: {{ mul $rl.requestsPerSecond $rl.burstMultiplier }}
    sourceCriterion:
      ipStrategy:
        depth: {{ $ing.traefik.ipStrategyDepth | int64 }}
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: {{ include "docket.suffixedName" (dict "ctx" . "suffix" "in-flight") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  inFlightReq:
    amount: {{ $rl.connections | int64 }}
    sourceCriterion:
      ipStrategy:
        depth: {{ $ing.traefik.ipStrategyDepth | int64 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* HorizontalPodAutoscaler (opt-in) with a behavior block. */}}
{{- define "docket.hpa" -}}
{{- $as := .Values.autoscaling -}}
{{- if $as.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "docket.fullname" . }}
  minReplicas: {{ $as.minReplicas | int64 }}
  maxReplicas: {{ $as.maxReplicas | int64 }}
  metrics:
    {{- with $as.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ . | int64 }}
    {{- end }}
    {{- with $as.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . | int64 }}
    {{- end }}
  behavior:
    {{- toYaml $as.behavior | nindent 4 }}
{{- end }}
{{- end -}}

{{/* PodDisruptionBudget for the main workload. */}}
{{- define "docket.pdb" -}}
{{- if include "docket.pdbEnabled" . }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .Values.pdb.minAvailable) }}
  minAvailable: {{ include "docket.envValue" .Values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ include "docket.envValue" .Values.pdb.maxUnavailable }}
  {{- end }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 6 }}
{{- end }}
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
The main Deployment: the service's CLI (the image's entrypoint; only its arguments are set here) with
the restricted security context, honest probes on the
named port "http", a preStop sleep, and a rollout that never drops below the desired replicas.
Takes (dict "ctx" $ "args" (list "serve")).
*/}}
{{- define "docket.deployment" -}}
{{- $args := .args -}}
{{- with .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
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
            - name: http
              containerPort: {{ include "docket.envValue" .Values.config.PORT }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "docket.fullname" . }}
          env:
            {{- include "docket.secretEnv" (dict "ctx" .) | trim | nindent 12 }}
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

{{/* The Service in front of the main workload, on the named port "http". */}}
{{- define "docket.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "docket.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "docket.labels" (dict "ctx" .) | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "docket.selectorLabels" (dict "ctx" .) | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port | int64 }}
      targetPort: http
      protocol: TCP
{{- end -}}

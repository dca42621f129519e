{{/* The chart's name. */}}
{{- define "cato.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's resources. */}}
{{- define "cato.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "cato.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cato.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the release's pods. */}}
{{- define "cato.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cato.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The service account's name. */}}
{{- define "cato.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cato.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the store URL and the keys. */}}
{{- define "cato.secretName" -}}
{{- default (include "cato.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* Where the embedded store lives in the pod. */}}
{{- define "cato.dataDir" -}}/var/lib/cato{{- end }}

{{/* The environment variable holding client key i. */}}
{{- define "cato.clientKeyEnv" -}}CATO_CLIENT_KEY_{{ . }}{{- end }}

{{/* terminationGracePeriodSeconds: the preStop sleep, the drain, long-term
memory's workers (30 s) and a margin; an explicit value below that is an
error. */}}
{{- define "cato.gracePeriod" -}}
{{- $need := add (int .Values.preStopSleepSeconds) (int .Values.shutdownTimeoutSeconds) 30 5 }}
{{- if .Values.terminationGracePeriodSeconds }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $need) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least preStopSleepSeconds + shutdownTimeoutSeconds + 35 (%d)" .Values.terminationGracePeriodSeconds $need) }}
{{- end }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- $need }}
{{- end }}
{{- end }}

{{/* A probe, sent to the admin port when adminPort is set and the probe
names port http: health on the client port would wait behind a client
flood. */}}
{{- define "cato.probe" -}}
{{- $p := deepCopy .probe }}
{{- if and (gt (int .root.Values.adminPort) 0) $p.httpGet }}
{{- if eq (toString $p.httpGet.port) "http" }}
{{- $_ := set $p.httpGet "port" "admin" }}
{{- end }}
{{- end }}
{{- toYaml $p }}
{{- end }}

{{/* The Service port Prometheus scrapes /metrics on. */}}
{{- define "cato.metricsPort" -}}
{{- if gt (int .Values.adminPort) 0 }}admin{{ else }}http{{ end }}
{{- end }}

{{/* Refuses values that would make a broken release. */}}
{{- define "cato.check" -}}
{{- $server := .Values.config.server | default dict }}
{{- if hasKey $server "shutdown_timeout" }}
{{- fail "set shutdownTimeoutSeconds, not config.server.shutdown_timeout: the pod's grace period is derived from it" }}
{{- end }}
{{- if hasKey .Values.config "listen" }}
{{- fail "set containerPort, not config.listen" }}
{{- end }}
{{- if hasKey $server "admin_listen" }}
{{- fail "set adminPort, not config.server.admin_listen: the probes and the Service follow it" }}
{{- end }}
{{- if hasKey .Values.config "store" }}
{{- fail "set secret.storeURL (or store-url in secret.existingSecret), not config.store: a store URL may hold a password" }}
{{- end }}
{{- if hasKey (.Values.config.auth | default dict) "keys" }}
{{- fail "set secret.clientKeys, not config.auth.keys" }}
{{- end }}
{{- if and (not .Values.secret.existingSecret) (not .Values.secret.storeURL) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- fail "the embedded store serves one replica: set secret.storeURL to a redis://, postgres:// or dynamodb:// store to run more" }}
{{- end }}
{{- if not .Values.secret.clientKeys }}
{{- fail "secret.clientKeys: Cato refuses to serve a non-loopback address without a client key" }}
{{- end }}
{{- end }}

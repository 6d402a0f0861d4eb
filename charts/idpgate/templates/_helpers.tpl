{{/* Names */}}
{{- define "idpgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "idpgate.fullname" -}}
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

{{- define "idpgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "idpgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "idpgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "idpgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "idpgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "idpgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: by digest when one is given, else by tag (the chart's appVersion by default). */}}
{{- define "idpgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "idpgate.adminTokenSecret" -}}
{{- default (printf "%s-admin-token" (include "idpgate.fullname" .)) .Values.adminToken.existingSecret }}
{{- end }}

{{- define "idpgate.proxyService" -}}
{{- printf "%s-proxy" (include "idpgate.fullname" .) }}
{{- end }}

{{- define "idpgate.adminService" -}}
{{- printf "%s-admin" (include "idpgate.fullname" .) }}
{{- end }}

{{/* http or https, for each listener. */}}
{{- define "idpgate.proxyScheme" -}}
{{- if .Values.tls.existingSecret }}https{{ else }}http{{ end }}
{{- end }}

{{- define "idpgate.adminScheme" -}}
{{- if or .Values.tls.existingSecret .Values.adminTLS.existingSecret }}https{{ else }}http{{ end }}
{{- end }}

{{/* Combinations the schema cannot express. */}}
{{- define "idpgate.validate" -}}
{{- if and .Values.adminClientCA.existingSecret (eq (include "idpgate.adminScheme" .) "http") }}
{{- fail "adminClientCA.existingSecret needs TLS on the admin listener: set tls.existingSecret or adminTLS.existingSecret" }}
{{- end }}
{{- if and (eq .Values.mode "redis") (not .Values.redis.existingSecret) }}
{{- fail "mode redis needs redis.existingSecret: the name of a Secret whose key redis.existingSecretKey holds the Redis URL" }}
{{- end }}
{{- end }}

{{/*
The pod template shared by the StatefulSet (bbolt) and the Deployment (redis).
*/}}
{{- define "idpgate.podTemplate" -}}
metadata:
  labels:
    {{- include "idpgate.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "idpgate.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  containers:
    - name: idpgate
      image: {{ include "idpgate.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - serve
        - -listen=:8080
        - -admin-listen=:8081
        {{- if eq .Values.mode "bbolt" }}
        - -data-dir=/var/lib/idpgate
        {{- else }}
        - {{ printf "-redis-key-prefix=%s" .Values.redis.keyPrefix | quote }}
        - {{ printf "-redis-limits-fallback=%s" .Values.redis.limitsFallback | quote }}
        {{- end }}
        - {{ printf "-access-log=%s" .Values.accessLog | quote }}
        - {{ printf "-log-level=%s" .Values.logLevel | quote }}
        - {{ printf "-decision-path=%s" .Values.decisionPath | quote }}
        - {{ printf "-shutdown-timeout=%ds" (sub (int .Values.terminationGracePeriodSeconds) 5) | quote }}
        {{- with .Values.trustedProxies }}
        - {{ printf "-trusted-proxies=%s" (join "," .) | quote }}
        {{- end }}
        {{- if .Values.tls.existingSecret }}
        - -tls-cert=/etc/idpgate/tls/tls.crt
        - -tls-key=/etc/idpgate/tls/tls.key
        {{- end }}
        {{- if .Values.adminTLS.existingSecret }}
        - -admin-tls-cert=/etc/idpgate/admin-tls/tls.crt
        - -admin-tls-key=/etc/idpgate/admin-tls/tls.key
        {{- end }}
        {{- if .Values.adminClientCA.existingSecret }}
        - {{ printf "-admin-client-ca=/etc/idpgate/admin-client-ca/%s" .Values.adminClientCA.key | quote }}
        {{- end }}
        {{- if .Values.tracing.enabled }}
        - -tracing
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: IDPGATE_ADMIN_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ include "idpgate.adminTokenSecret" . }}
              key: {{ .Values.adminToken.existingSecretKey }}
        {{- if eq .Values.mode "redis" }}
        - name: IDPGATE_REDIS_URL
          valueFrom:
            secretKeyRef:
              name: {{ .Values.redis.existingSecret }}
              key: {{ .Values.redis.existingSecretKey }}
        {{- end }}
        {{- with .Values.resources.limits }}
        {{- if .memory }}
        - name: GOMEMLIMIT
          valueFrom:
            resourceFieldRef:
              resource: limits.memory
        {{- end }}
        {{- end }}
        {{- range $k, $v := .Values.otel.env }}
        - name: {{ $k }}
          value: {{ $v | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.otel.existingSecret }}
      envFrom:
        - secretRef:
            name: {{ . }}
      {{- end }}
      ports:
        - name: proxy
          containerPort: 8080
          protocol: TCP
        - name: admin
          containerPort: 8081
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: admin
          scheme: {{ include "idpgate.adminScheme" . | upper }}
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: admin
          scheme: {{ include "idpgate.adminScheme" . | upper }}
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      {{- if or (eq .Values.mode "bbolt") .Values.tls.existingSecret .Values.adminTLS.existingSecret .Values.adminClientCA.existingSecret }}
      volumeMounts:
        {{- if eq .Values.mode "bbolt" }}
        - name: data
          mountPath: /var/lib/idpgate
        {{- end }}
        {{- if .Values.tls.existingSecret }}
        - name: tls
          mountPath: /etc/idpgate/tls
          readOnly: true
        {{- end }}
        {{- if .Values.adminTLS.existingSecret }}
        - name: admin-tls
          mountPath: /etc/idpgate/admin-tls
          readOnly: true
        {{- end }}
        {{- if .Values.adminClientCA.existingSecret }}
        - name: admin-client-ca
          mountPath: /etc/idpgate/admin-client-ca
          readOnly: true
        {{- end }}
      {{- end }}
  {{- /* Whole-Secret volumes, never subPath: the kubelet then updates the files in place as cert-manager renews them. */}}
  {{- if or .Values.tls.existingSecret .Values.adminTLS.existingSecret .Values.adminClientCA.existingSecret }}
  volumes:
    {{- if .Values.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.existingSecret }}
    {{- end }}
    {{- if .Values.adminTLS.existingSecret }}
    - name: admin-tls
      secret:
        secretName: {{ .Values.adminTLS.existingSecret }}
    {{- end }}
    {{- if .Values.adminClientCA.existingSecret }}
    - name: admin-client-ca
      secret:
        secretName: {{ .Values.adminClientCA.existingSecret }}
    {{- end }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

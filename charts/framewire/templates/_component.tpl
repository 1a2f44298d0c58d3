{{/*
Building blocks shared by every service component: Deployment (or StatefulSet, with "kind"),
Service and ConfigMap. Each component folder calls them with
  (dict "root" $ "name" "<component>" "component" .Values.<component> "args" (list ...))
and adds what only it needs (extra volumes, a PodDisruptionBudget, ...).
*/}}

{{/* An environment value as text; whole numbers never in exponent form (8388608, not 8.4e+06). */}}
{{- define "framewire.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- end -}}

{{/* The component's own settings as FW_* environment variables. */}}
{{- define "framewire.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "framewire.componentName" . }}
  labels:
    {{- include "framewire.componentLabels" . | nindent 4 }}
data:
  {{- if not (or .settings .component.settings) }} {}{{ end }}
  {{- range $key, $value := .settings }}
  {{- if hasKey $.component.settings $key }}
  {{- fail (printf "%s.settings.%s is set by the chart itself; change it through the %s values instead" $.name $key $.name) }}
  {{- end }}
  {{ $key }}: {{ include "framewire.envValue" $value | quote }}
  {{- end }}
  {{- range $key, $value := .component.settings }}
  {{ $key }}: {{ include "framewire.envValue" $value | quote }}
  {{- end }}
{{- end -}}

{{- define "framewire.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "framewire.componentName" . }}
  labels:
    {{- include "framewire.componentLabels" . | nindent 4 }}
    {{- with .component.service.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .component.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .component.service.type }}
  selector:
    {{- include "framewire.selectorLabels" . | nindent 4 }}
  ports:
    {{- if .component.port }}
    - name: http
      port: {{ .component.port }}
      targetPort: http
      protocol: TCP
    {{- end }}
    {{- if .component.metricsPort }}
    - name: metrics
      port: {{ .component.metricsPort }}
      targetPort: {{ ternary "http" "metrics" (eq (int .component.metricsPort) (int .component.port)) }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* Scheduling keys: the component's own value when it sets one, else common's. */}}
{{- define "framewire.scheduling" -}}
{{- $out := dict -}}
{{- range $key := list "podLabels" "podAnnotations" "nodeSelector" "tolerations" "affinity" "topologySpreadConstraints" -}}
{{- $_ := set $out $key (ternary (index $.component $key) (index $.root.Values.common $key) (hasKey $.component $key)) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "framewire.deployment" -}}
{{- $root := .root -}}
{{- $c := .component -}}
{{- $s := include "framewire.scheduling" . | fromYaml -}}
{{- $sasl := include "framewire.saslSecretName" $root -}}
{{- $ca := include "framewire.caSecretName" $root -}}
{{- $env := concat (list) (default (list) .env) -}}
{{- if $sasl -}}
{{- $ref := dict "name" $sasl "key" (include "framewire.saslSecretKey" $root) -}}
{{- $env = append $env (dict "name" "FW_KAFKA_SASL_PASSWORD" "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end -}}
{{- range $c.secretEnv -}}
{{- $ref := dict "name" .secret "key" .key -}}
{{- $env = append $env (dict "name" .name "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end -}}
{{- $kind := default "Deployment" .kind -}}
apiVersion: apps/v1
kind: {{ $kind }}
metadata:
  name: {{ include "framewire.componentName" . }}
  labels:
    {{- include "framewire.componentLabels" . | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "framewire.selectorLabels" . | nindent 6 }}
  {{- if eq $kind "StatefulSet" }}
  # Pods are named <name>-0, <name>-1, ... and keep their name when replaced; they start
  # and stop side by side (no ordering needed, no volumes claimed).
  serviceName: {{ include "framewire.componentName" . }}-pods
  podManagementPolicy: Parallel
  {{- with $c.strategy }}
  updateStrategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- else }}
  {{- with $c.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "framewire.componentLabels" . | nindent 8 }}
        {{- with $s.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # Roll the pods when their configuration changes.
        checksum/config: {{ include "framewire.configmap" . | sha256sum }}
        checksum/kafka: {{ include "framewire.kafkaConfigmap" $root | sha256sum }}
        {{- with $s.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "framewire.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .name }}
          image: {{ include "framewire.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          ports:
            {{- if $c.port }}
            - name: http
              containerPort: {{ $c.port }}
              protocol: TCP
            {{- end }}
            {{- if and $c.metricsPort (ne (int $c.metricsPort) (int $c.port)) }}
            - name: metrics
              containerPort: {{ $c.metricsPort }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "framewire.fullname" $root }}-kafka-client
            - configMapRef:
                name: {{ include "framewire.componentName" . }}
          {{- with $env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $c.startupProbe }}
          startupProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $c.livenessProbe }}
          livenessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $c.readinessProbe }}
          readinessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          {{- with $c.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            # Read-only root file system: scratch space lives in memory-backed emptyDirs.
            - name: tmp
              mountPath: /tmp
            {{- if $ca }}
            - name: kafka-ca
              mountPath: /etc/framewire/kafka-ca
              readOnly: true
            {{- end }}
            {{- with .volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            medium: Memory
            sizeLimit: {{ $root.Values.tmpSizeLimit }}
        {{- if $ca }}
        - name: kafka-ca
          secret:
            secretName: {{ $ca }}
            items:
              - key: {{ include "framewire.caSecretKey" $root }}
                path: ca.crt
        {{- end }}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $s.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $s.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $s.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $s.topologySpreadConstraints }}
      {{- /* A constraint without labelSelector counts this component's pods. */}}
      {{- $selector := dict "matchLabels" (include "framewire.selectorLabels" $ | fromYaml) }}
      {{- $constraints := list }}
      {{- range . }}
      {{- $constraints = append $constraints (merge (dict) . (dict "labelSelector" $selector)) }}
      {{- end }}
      topologySpreadConstraints:
        {{- toYaml $constraints | nindent 8 }}
      {{- end }}
{{- end -}}


{{/*
The headless Service a StatefulSet names as its serviceName (per-pod DNS records). Its port
is not named "metrics": the ServiceMonitor scrapes that port of every framewire Service, and
the pods are already scraped through the component's own Service, so they would be twice.
*/}}
{{- define "framewire.podsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "framewire.componentName" . }}-pods
  labels:
    {{- include "framewire.componentLabels" . | nindent 4 }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "framewire.selectorLabels" . | nindent 4 }}
  ports:
    - name: pod-metrics
      port: {{ .component.metricsPort }}
      targetPort: metrics
      protocol: TCP
{{- end -}}

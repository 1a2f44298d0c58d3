{{/*
Names and labels. Every object is named "<fullname>-<component>" and labelled with the
standard app.kubernetes.io keys, so selectors never overlap between components.
*/}}

{{- define "framewire.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "framewire.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>"; call with (dict "root" $ "name" "gateway"). */}}
{{- define "framewire.componentName" -}}
{{- printf "%s-%s" (include "framewire.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "framewire.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every object of the release. */}}
{{- define "framewire.labels" -}}
helm.sh/chart: {{ include "framewire.chart" . }}
app.kubernetes.io/name: {{ include "framewire.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: framewire
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "name" "gateway"). */}}
{{- define "framewire.selectorLabels" -}}
app.kubernetes.io/name: {{ include "framewire.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "framewire.componentLabels" -}}
{{ include "framewire.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "framewire.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Name of the Strimzi Kafka cluster the release talks to. */}}
{{- define "framewire.strimziCluster" -}}
{{- default (include "framewire.fullname" .) .Values.strimzi.clusterName | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* True (non-empty) when the services authenticate with a Strimzi-managed KafkaUser. */}}
{{- define "framewire.strimziAuth" -}}
{{- if and .Values.strimzi.enabled .Values.strimzi.auth.enabled -}}true{{- end -}}
{{- end -}}

{{- define "framewire.kafkaUser" -}}
{{- default (include "framewire.fullname" .) .Values.strimzi.auth.username | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Bootstrap servers. With Strimzi, its bootstrap Service: port 9092 (plain listener) or 9093
(TLS listener with SCRAM-SHA-512 when auth is on). Otherwise the configured external Kafka.
*/}}
{{- define "framewire.kafkaBootstrap" -}}
{{- if .Values.strimzi.enabled -}}
{{- printf "%s-kafka-bootstrap:%d" (include "framewire.strimziCluster" .) (ternary 9093 9092 (eq (include "framewire.strimziAuth" .) "true") | int) -}}
{{- else -}}
{{- required "kafka.bootstrap is required when strimzi.enabled is false (host:port of your Kafka)" .Values.kafka.bootstrap -}}
{{- end -}}
{{- end -}}

{{- define "framewire.kafkaSecurityProtocol" -}}
{{- if include "framewire.strimziAuth" . -}}SASL_SSL{{- else if .Values.strimzi.enabled -}}PLAINTEXT{{- else -}}{{ .Values.kafka.securityProtocol }}{{- end -}}
{{- end -}}

{{/* Secret (name, key) holding the SASL password, or empty when no SASL is used. */}}
{{- define "framewire.saslSecretName" -}}
{{- if include "framewire.strimziAuth" . -}}{{ include "framewire.kafkaUser" . }}{{- else if hasPrefix "SASL" .Values.kafka.securityProtocol -}}{{ required "kafka.sasl.existingSecret is required for a SASL security protocol" .Values.kafka.sasl.existingSecret }}{{- end -}}
{{- end -}}

{{- define "framewire.saslSecretKey" -}}
{{- if include "framewire.strimziAuth" . -}}password{{- else -}}{{ .Values.kafka.sasl.passwordKey }}{{- end -}}
{{- end -}}

{{/* Secret (name, key) holding the CA certificate that signed the brokers' certificates. */}}
{{- define "framewire.caSecretName" -}}
{{- if include "framewire.strimziAuth" . -}}{{ include "framewire.strimziCluster" . }}-cluster-ca-cert{{- else if hasSuffix "SSL" .Values.kafka.securityProtocol -}}{{ .Values.kafka.tls.caSecret }}{{- end -}}
{{- end -}}

{{- define "framewire.caSecretKey" -}}
{{- if include "framewire.strimziAuth" . -}}ca.crt{{- else -}}{{ .Values.kafka.tls.caKey }}{{- end -}}
{{- end -}}

{{- define "framewire.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "framewire.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Replication factor of the topics the services create at run time. */}}
{{- define "framewire.topicReplication" -}}
{{- if .Values.strimzi.enabled -}}{{ include "framewire.strimziReplication" . }}{{- else -}}{{ .Values.kafka.topicReplication | int }}{{- end -}}
{{- end -}}

{{/* Replication of the topics: strimzi.topics.replicas, or min(3, nodes) when 0. */}}
{{- define "framewire.strimziReplication" -}}
{{- if .Values.strimzi.topics.replicas -}}{{ .Values.strimzi.topics.replicas | int }}{{- else -}}{{ min 3 (int .Values.strimzi.replicas) }}{{- end -}}
{{- end -}}

{{/* min.insync.replicas: a write survives one broker loss once there are 3 replicas. */}}
{{- define "framewire.strimziMinIsr" -}}
{{- max 1 (sub (int (include "framewire.strimziReplication" .)) 1) | min 2 -}}
{{- end -}}

{{/* Warnings for NOTES.txt: enabled resources whose API this cluster does not serve. */}}
{{- define "framewire.missingApis" -}}
{{- $caps := .Capabilities.APIVersions -}}
{{- $strimzi := list -}}
{{- if and .Values.strimzi.enabled .Values.strimzi.createCluster -}}{{- $strimzi = concat $strimzi (list "Kafka" "KafkaNodePool") -}}{{- end -}}
{{- if and .Values.strimzi.enabled .Values.strimzi.topics.enabled -}}{{- $strimzi = append $strimzi "KafkaTopic" -}}{{- end -}}
{{- if include "framewire.strimziAuth" . -}}{{- $strimzi = append $strimzi "KafkaUser" -}}{{- end -}}
{{- range $kind := $strimzi -}}
{{- if not ($caps.Has (printf "kafka.strimzi.io/v1/%s" $kind)) }}
- kafka.strimzi.io/v1 {{ $kind }} (install the Strimzi operator, see docs/deploy.md)
{{- end -}}
{{- end -}}
{{- if and .Values.keda.enabled (not ($caps.Has "keda.sh/v1alpha1/ScaledObject")) }}
- keda.sh/v1alpha1 ScaledObject (install KEDA, see docs/deploy.md)
{{- end -}}
{{- if and (or .Values.serviceMonitor.enabled .Values.prometheusRules.enabled) (not ($caps.Has "monitoring.coreos.com/v1")) }}
- monitoring.coreos.com/v1 ServiceMonitor/PrometheusRule (install the Prometheus Operator)
{{- end -}}
{{- end -}}

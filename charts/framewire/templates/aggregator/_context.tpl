{{/* Aggregator: `framewire aggregator` (faust); its local table store lives on an emptyDir. */}}
{{- define "framewire.aggregator.context" -}}
{{- $root := .root -}}
{{- $v := $root.Values.aggregator -}}
{{- $_ := set . "name" "aggregator" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "aggregator") -}}
{{- $settings := dict "FW_AGGREGATOR_METRICS_PORT" $v.metricsPort "FW_AGGREGATOR_WEB_PORT" $v.port -}}
{{- $_ := set $settings "FW_AGGREGATOR_WEB_HOST" "0.0.0.0" -}}
{{- $_ := set $settings "FW_AGGREGATOR_DATA_DIR" "/var/lib/framewire/aggregator" -}}
{{- $_ := set $settings "FW_AGGREGATOR_REPLICATION" (include "framewire.topicReplication" $root) -}}
{{- $_ := set . "settings" $settings -}}
{{- $_ := set . "volumeMounts" (list (dict "name" "data" "mountPath" "/var/lib/framewire/aggregator")) -}}
{{- $_ := set . "volumes" (list (dict "name" "data" "emptyDir" (dict "sizeLimit" $v.dataSizeLimit))) -}}
{{- end -}}

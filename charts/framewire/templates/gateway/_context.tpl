{{/* Gateways: `framewire gateway`; each pod reports streams under its own pod name. */}}
{{- define "framewire.gateway.context" -}}
{{- $v := .root.Values.gateway -}}
{{- $_ := set . "name" "gateway" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "gateway") -}}
{{- $settings := dict "FW_GATEWAY_METRICS_PORT" $v.metricsPort "FW_GATEWAY_METRICS_ADDR" "0.0.0.0" -}}
{{- $_ := set . "settings" $settings -}}
{{- $podName := dict "name" "FW_GATEWAY_ID" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")) -}}
{{- $_ := set . "env" (list $podName) -}}
{{- end -}}

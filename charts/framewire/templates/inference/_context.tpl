{{/*
Inference workers: `framewire inference`. The pod name is the worker id (and so part of the
transactional id); models come from the model server when it is deployed.
*/}}
{{- define "framewire.inference.context" -}}
{{- $root := .root -}}
{{- $v := $root.Values.inference -}}
{{- $_ := set . "name" "inference" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "inference") -}}
{{- $_ := set . "autoscaled" $root.Values.keda.enabled -}}
{{- $settings := dict "FW_INFERENCE_HTTP_PORT" $v.metricsPort "FW_INFERENCE_HTTP_HOST" "0.0.0.0" -}}
{{- $_ := set $settings "FW_INFERENCE_MODEL_CACHE_DIR" "/var/cache/framewire/models" -}}
{{- $_ := set $settings "FW_MODELS_CACHE" "/var/cache/framewire/models" -}}
{{- if $root.Values.models.enabled -}}
{{- $url := printf "http://%s:%d" (include "framewire.componentName" (dict "root" $root "name" "models")) (int $root.Values.models.port) -}}
{{- $_ := set $settings "FW_INFERENCE_MODEL_SERVER_URL" $url -}}
{{- end -}}
{{- $_ := set . "settings" $settings -}}
{{- $podName := dict "name" "FW_INFERENCE_WORKER_ID" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")) -}}
{{- $_ := set . "env" (list $podName) -}}
{{- $_ := set . "volumeMounts" (list (dict "name" "models" "mountPath" "/var/cache/framewire/models")) -}}
{{- $_ := set . "volumes" (list (dict "name" "models" "emptyDir" (dict "sizeLimit" $v.cacheSizeLimit))) -}}
{{- end -}}

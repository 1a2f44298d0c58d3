{{/*
Inference workers: `framewire inference`, a StatefulSet. The pod name (<name>-0, -1, ...) is
the worker id, and so part of the transactional id: a replaced pod keeps its name, and its
first transaction fences a predecessor that may still be running (a partitioned node).
With the model server deployed, models are downloaded from it into an
emptyDir; without it, the zoo baked into the image is used in place (read-only, so OpenVINO's
compiled-model cache is off).
*/}}
{{- define "framewire.inference.context" -}}
{{- $root := .root -}}
{{- $v := $root.Values.inference -}}
{{- $_ := set . "name" "inference" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "inference") -}}
{{- $_ := set . "autoscaled" $root.Values.keda.enabled -}}
{{- $_ := set . "kind" "StatefulSet" -}}
{{- $settings := dict "FW_INFERENCE_HTTP_PORT" $v.metricsPort "FW_INFERENCE_HTTP_HOST" "0.0.0.0" "FW_INFERENCE_SUPERVISE" (ternary "true" "false" $v.supervise) "FW_INFERENCE_STATIC_MEMBERSHIP" (ternary "true" "false" $v.staticMembership) -}}
{{- if $root.Values.models.enabled -}}
{{- $url := printf "%s/models" (include "framewire.models.url" $root) -}}
{{- $_ := set $settings "FW_INFERENCE_MODEL_SERVER_URL" $url -}}
{{- $_ := set $settings "FW_INFERENCE_MODEL_CACHE_DIR" "/var/cache/framewire/models" -}}
{{- $_ := set . "volumeMounts" (list (dict "name" "models" "mountPath" "/var/cache/framewire/models")) -}}
{{- $_ := set . "volumes" (list (dict "name" "models" "emptyDir" (dict "sizeLimit" $v.cacheSizeLimit))) -}}
{{- else -}}
{{- $_ := set $settings "FW_MODELS_COMPILE_CACHE" "false" -}}
{{- end -}}
{{- $_ := set . "settings" $settings -}}
{{- $podName := dict "name" "FW_INFERENCE_WORKER_ID" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")) -}}
{{- $_ := set . "env" (prepend (include "framewire.modelsToken" $root | fromYamlArray) $podName) -}}
{{- end -}}

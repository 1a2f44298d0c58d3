{{/* Model server: `framewire models serve`, its zoo cached on an emptyDir. */}}
{{- define "framewire.models.context" -}}
{{- $v := .root.Values.models -}}
{{- $_ := set . "name" "models" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "models" "serve") -}}
{{- $_ := set . "settings" (dict "FW_MODELS_CACHE" "/var/cache/framewire/models") -}}
{{- $_ := set . "volumeMounts" (list (dict "name" "models" "mountPath" "/var/cache/framewire/models")) -}}
{{- $_ := set . "volumes" (list (dict "name" "models" "emptyDir" (dict "sizeLimit" $v.cacheSizeLimit))) -}}
{{- end -}}

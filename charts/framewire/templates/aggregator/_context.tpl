{{/* Aggregator: `framewire aggregator` (faust); its local table store lives on an emptyDir. */}}
{{- define "framewire.aggregator.context" -}}
{{- $v := .root.Values.aggregator -}}
{{- $_ := set . "name" "aggregator" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "aggregator") -}}
{{- $_ := set . "settings" (dict) -}}
{{- $_ := set . "volumeMounts" (list (dict "name" "data" "mountPath" "/var/lib/framewire")) -}}
{{- $_ := set . "volumes" (list (dict "name" "data" "emptyDir" (dict "sizeLimit" $v.dataSizeLimit))) -}}
{{- end -}}

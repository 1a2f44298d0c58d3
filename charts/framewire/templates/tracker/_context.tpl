{{/*
Tracker: `framewire tracker`, a StatefulSet. The pod name (<name>-0, -1, ...) is the tracker
id, and so part of the transactional id (<group>.<tracker id>): a replaced pod keeps its
name, and registering its transactions fences a predecessor that may still be running (a
partitioned node), as for the inference workers. Its state lives in Kafka
(fw.tracker-state), so it needs no volume.
*/}}
{{- define "framewire.tracker.context" -}}
{{- $root := .root -}}
{{- $v := $root.Values.tracker -}}
{{- $_ := set . "name" "tracker" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "tracker") -}}
{{- $_ := set . "kind" "StatefulSet" -}}
{{- $_ := set . "settings" (dict "FW_TRACKER_HTTP_PORT" $v.metricsPort "FW_TRACKER_HTTP_HOST" "0.0.0.0") -}}
{{- $podName := dict "name" "FW_TRACKER_TRACKER_ID" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")) -}}
{{- $_ := set . "env" (list $podName) -}}
{{- end -}}

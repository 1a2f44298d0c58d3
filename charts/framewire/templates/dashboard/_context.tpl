{{/* Dashboard: `framewire dashboard`, listening on all interfaces inside the pod. */}}
{{- define "framewire.dashboard.context" -}}
{{- $v := .root.Values.dashboard -}}
{{- $_ := set . "name" "dashboard" -}}
{{- $_ := set . "component" $v -}}
{{- $_ := set . "args" (list "dashboard") -}}
{{- $settings := dict "FW_DASHBOARD_HOST" "0.0.0.0" "FW_DASHBOARD_PORT" $v.port "FW_DASHBOARD_CLIPS_MAX_MB" $v.clipsMaxMb -}}
{{- if $v.auth.all -}}
{{- if not $v.auth.existingSecret -}}
{{- fail "dashboard.auth.all needs dashboard.auth.existingSecret (the Secret holding the token)" -}}
{{- end -}}
{{- $_ := set $settings "FW_DASHBOARD_AUTH_ALL" "true" -}}
{{- end -}}
{{- $_ := set . "settings" $settings -}}
{{- if $v.auth.existingSecret -}}
{{- $token := dict "name" "FW_DASHBOARD_TOKEN" "valueFrom" (dict "secretKeyRef" (dict "name" $v.auth.existingSecret "key" $v.auth.tokenKey)) -}}
{{- $_ := set . "env" (list $token) -}}
{{- end -}}
{{- end -}}

{{/* Model server: `framewire models serve`, offering the zoo baked into the image. */}}
{{- define "framewire.models.context" -}}
{{- $v := .root.Values.models -}}
{{- $_ := set . "name" "models" -}}
{{- $_ := set . "component" $v -}}
{{- $args := list "models" "serve" "--host" "0.0.0.0" "--port" (toString (int $v.port)) -}}
{{- /* The download URLs it hands out must name its Service, not the bind address. */}}
{{- $_ := set . "args" (concat $args (list "--public-url" (include "framewire.models.url" .root))) -}}
{{- $_ := set . "settings" (dict) -}}
{{- $_ := set . "env" (include "framewire.modelsToken" .root | fromYamlArray) -}}
{{- end -}}

{{/* FW_MODELS_SERVER_TOKEN from models.auth.existingSecret, as a list of env entries. */}}
{{- define "framewire.modelsToken" -}}
{{- with .Values.models.auth.existingSecret -}}
- name: FW_MODELS_SERVER_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.models.auth.tokenKey }}
{{- else -}}
[]
{{- end -}}
{{- end -}}


{{/* Base URL of the model server as the other pods reach it: its Service. */}}
{{- define "framewire.models.url" -}}
http://{{ include "framewire.componentName" (dict "root" . "name" "models") }}:{{ int .Values.models.port }}
{{- end -}}

{{/* KEDA's name for the SASL mechanism the services use. */}}
{{- define "framewire.kedaSasl" -}}
{{- $mechanism := ternary "SCRAM-SHA-512" .Values.kafka.sasl.mechanism (eq (include "framewire.strimziAuth" .) "true") -}}
{{- get (dict "PLAIN" "plaintext" "SCRAM-SHA-256" "scram_sha256" "SCRAM-SHA-512" "scram_sha512") $mechanism -}}
{{- end -}}

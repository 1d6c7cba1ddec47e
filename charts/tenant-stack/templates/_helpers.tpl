{{- define "tenant-stack.labels" -}}
app.kubernetes.io/name: tenant-stack
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "tenant-stack.selector" -}}
app.kubernetes.io/name: tenant-stack
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- /* Pod and container security that Pod Security "restricted" (Caelus' default) admits. */ -}}
{{- define "tenant-stack.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "tenant-stack.redisHost" -}}
{{ .Release.Name }}-redis
{{- end }}

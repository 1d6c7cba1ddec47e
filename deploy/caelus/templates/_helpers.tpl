{{- define "caelus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "caelus.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "caelus.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "caelus.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects carry the release name (and namespace) so several releases never collide. */}}
{{- define "caelus.clusterName" -}}
{{- printf "%s-%s-caelus" .Release.Name .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "caelus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "caelus.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The API's own ServiceAccount: it only reads CaelusInstances, so it does not share the operator's rights. */}}
{{- define "caelus.apiServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- printf "%s-api" (include "caelus.fullname" . | trunc 59 | trimSuffix "-") -}}
{{- else -}}
{{- include "caelus.serviceAccountName" . -}}
{{- end -}}
{{- end -}}

{{- define "caelus.apiClusterName" -}}
{{- printf "%s-api" (include "caelus.clusterName" . | trunc 59 | trimSuffix "-") -}}
{{- end -}}

{{- define "caelus.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "caelus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "caelus.selector" -}}
app.kubernetes.io/name: {{ include "caelus.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "caelus.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Pod Security Standard "restricted". */}}
{{- define "caelus.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "caelus.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment shared by operator and API: database, encryption keys, catalog, helm's writable homes. */}}
{{- define "caelus.commonEnv" -}}
{{- if .Values.database.existingSecret }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
{{- end }}
{{- if .Values.catalog.inline }}
- name: CAELUS_CATALOG
  value: /etc/caelus/catalog.yaml
{{- end }}
# readOnlyRootFilesystem: helm writes its cache, config and plugin data under /tmp (an emptyDir).
- name: HOME
  value: /tmp
- name: HELM_CACHE_HOME
  value: /tmp/helm/cache
- name: HELM_CONFIG_HOME
  value: /tmp/helm/config
- name: HELM_DATA_HOME
  value: /tmp/helm/data
- name: HELM_BIN
  value: /usr/local/bin/helm
{{- end -}}

{{- /* The key ring: the operator decrypts instance secrets into namespaces; the API seals the secrets and chart credentials it is given (PUT /instances/{id}/secrets, POST /chart-credentials). */}}
{{- define "caelus.encryptionEnv" -}}
{{- if .Values.encryption.existingSecret }}
- name: CAELUS_ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.encryption.existingSecret }}
      key: {{ .Values.encryption.key }}
{{- end }}
{{- end -}}

{{- define "caelus.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.catalog.inline }}
- name: catalog
  mountPath: /etc/caelus
  readOnly: true
{{- end }}
{{- end -}}

{{- define "caelus.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.catalog.inline }}
- name: catalog
  configMap:
    name: {{ include "caelus.fullname" . }}-catalog
{{- end }}
{{- end -}}

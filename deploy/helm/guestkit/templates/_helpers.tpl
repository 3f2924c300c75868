{{/* Labels of guestkit's own objects; component when given. */}}
{{- define "guestkit.labels" -}}
app.kubernetes.io/name: guestkit
app.kubernetes.io/part-of: guestkit
{{- with . }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "guestkit.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}

{{- define "guestkit.imagesClaim" -}}
{{ .Values.images.existingClaim | default "guestkit-images" }}
{{- end }}

{{/* The Secret whose key `token` the API pods adopt as their admin token. */}}
{{- define "guestkit.adminTokenSecret" -}}
{{ .Values.tokens.existingSecret | default "guestkit-admin-token" }}
{{- end }}

{{- define "guestkit.validate" -}}
{{- if not (has .Values.mode (list "embedded" "cluster")) }}{{ fail "mode must be embedded or cluster" }}{{ end }}
{{- if and (eq .Values.mode "cluster") (not .Values.redis.bundled) (not .Values.redis.url) }}{{ fail "redis.url is needed when redis.bundled is false" }}{{ end }}
{{- if and (eq .Values.mode "cluster") (not .Values.postgresql.bundled) (not .Values.postgresql.url) }}{{ fail "postgresql.url is needed when postgresql.bundled is false" }}{{ end }}
{{- if and .Values.tokens.admin .Values.tokens.existingSecret }}{{ fail "tokens.admin and tokens.existingSecret are both set: give the admin token one way" }}{{ end }}
{{- if and .Values.tokens.admin (not (regexMatch "^gk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$" .Values.tokens.admin)) }}{{ fail "tokens.admin must be a token of the form gk_<id>_<secret>: make one with guestkit token generate" }}{{ end }}
{{- end }}

{{/* The pod and container security settings of the restricted Pod Security Standard. */}}
{{- define "guestkit.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "guestkit.containerSecurity" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* The guestkit pod template of the API (embedded and cluster) and the worker DaemonSet. */}}
{{- define "guestkit.podTemplate" -}}
{{- $root := .root -}}
{{- $worker := eq .component "worker" -}}
{{- $port := ternary "metrics" "http" $worker -}}
metadata:
  labels:
    {{- include "guestkit.labels" .component | nindent 4 }}
spec:
  serviceAccountName: guestkit
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 45
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "guestkit.podSecurity" (dict "uid" 65532) | nindent 4 }}
  containers:
    - name: guestkit
      image: {{ include "guestkit.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      {{- if $worker }}
      args: [worker, --metrics-port, "9464"]
      {{- else }}
      args: [serve]
      {{- end }}
      envFrom:
        - configMapRef:
            name: guestkit-config
        {{- if eq $root.Values.mode "cluster" }}
        - secretRef:
            name: guestkit-store
        {{- end }}
      {{- if $worker }}
      env:
        - name: GUESTKIT_WORKER_ID
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
      {{- else }}
      env:
        # the admin token serve adopts (every API pod the same); embedded starts without it
        - name: GUESTKIT_ADMIN_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ include "guestkit.adminTokenSecret" $root }}
              key: token
              optional: {{ eq $root.Values.mode "embedded" }}
      {{- end }}
      ports:
        - name: {{ $port }}
          containerPort: {{ ternary 9464 8080 $worker }}
          protocol: TCP
      startupProbe:
        httpGet:
          path: /healthz
          port: {{ $port }}
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet:
          path: /healthz
          port: {{ $port }}
        periodSeconds: 20
        timeoutSeconds: 5
      readinessProbe:
        httpGet:
          path: /readyz
          port: {{ $port }}
        periodSeconds: 10
        timeoutSeconds: 5
      resources:
        {{- toYaml (ternary $root.Values.worker.resources $root.Values.api.resources $worker) | nindent 8 }}
      securityContext:
        {{- include "guestkit.containerSecurity" . | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: images
          mountPath: /images
          readOnly: true
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: data
      {{- if eq $root.Values.mode "embedded" }}
      persistentVolumeClaim:
        claimName: guestkit-data
      {{- else }}
      emptyDir:
        sizeLimit: 1Gi
      {{- end }}
    - name: images
      persistentVolumeClaim:
        claimName: {{ include "guestkit.imagesClaim" $root }}
        readOnly: true
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end }}

"""The runbook's two kubectl commands (KB260200006), verbatim, for conformance tests and benchmarks.

regclean must record exactly the rows these print; the tests run them against the sandbox.
"""

# Trailing blanks included; `kubectl` is the first word, so a caller can prefix its own flags.
# The template has a line holding one blank, written \x20 so that no editor strips it.
OPERATORS_COMMAND = (
    "kubectl get operatorviews -A   -o custom-columns='CLUSTER:.metadata.namespace,NAME:.metadata.name,"
    "PHASE:.status.operatorStatus.phase,ARTIFACT:.status.operatorStatus.installation.artifactName,"
    "INSTALLED_CSV:.status.operatorStatus.installation.subscription.installedCSV,"
    "DISPLAY_NAME:.status.packageManifestStatus.channels[0].currentCSVDesc.displayName'"
    " | awk 'NR==1 || ($3 == \"Installed\")'  "
)
PLUGINS_TEMPLATE = """{{-
printf "%-40s %-10s %-40s %s\\n" "MODULE" "LIFECYCLE" "INSTALLED(CLUSTER:VERSION)" "DISPLAY_NAME"
-}}{{- range .items }}
{{- $module := index .metadata.labels "cpaas.io/module-name" -}}
{{- $displayName := index .metadata.annotations "cpaas.io/display-name" -}}

{{- $lifecycle := index .metadata.labels "cpaas.io/lifecycle-type" -}}
{{- if or (not $lifecycle) (eq $lifecycle "") -}}
{{- $lifecycle = "agnostic" -}}
{{- end -}}
\x20
{{- if or (eq $lifecycle "agnostic") (eq $lifecycle "aligned") -}}
  {{- $installed := "" -}}
  {{- range $i, $ins := .status.installed -}}
    {{- if $i -}}
      {{- $installed = printf "%s, %s:%s" $installed $ins.cluster $ins.version -}}
    {{- else -}}
      {{- $installed = printf "%s:%s" $ins.cluster $ins.version -}}
    {{- end -}}
  {{- end -}}
{{- printf "%-40s %-10s %-40s %-40s" $module $lifecycle $installed $displayName -}}
{{ "\\n" -}}
{{- end -}}
{{- end -}}"""

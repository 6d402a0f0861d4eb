#!/usr/bin/env bash
# Helm for `make chart-check` (lint, template, and the chart's Go tests): built from the Go
# module proxy with the version pinned in tools/helm/go.mod (a module of its own, so the
# provider's go.mod never sees Kubernetes' dependencies). The build takes minutes on a cold
# module cache, so the binary is cached per version and reused (scripts/lib/tool-cache.sh):
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/helm-<version>/helm
# Prints that path on stdout (progress goes to stderr). Nothing is downloaded but Go modules.
set -euo pipefail

# One compound command, read whole before it runs (see scripts/tofu.sh).
{

. "$(dirname "$0")/lib/tool-cache.sh"
version="$(tool_version helm.sh/helm/v4 tools/helm/go.mod)"

# tool_reports_version BIN: BIN runs and says it is this release.
tool_reports_version() {
  local out
  out="$(HELM_CONFIG_HOME=/nonexistent "$1" version --template '{{.Version}}' 2>/dev/null)" || return 1
  [ "$out" = "$version" ]
}

# As Helm's Makefile builds a release: static, trimmed, the version stamped in.
tool_build() {
  cd tools/helm && CGO_ENABLED=0 nice -n 10 go build -mod=readonly -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.metadata=" \
    -o "$1" helm.sh/helm/v4/cmd/helm
}

tool_cache helm "$version" "" "minutes on a cold module cache, once per machine"
}

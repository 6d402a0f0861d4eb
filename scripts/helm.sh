#!/usr/bin/env bash
# Helm for `make chart-check` (lint, template, and the chart's Go tests): built from the Go
# module proxy with the version pinned in tools/helm/go.mod (a module of its own, so the
# provider's go.mod never sees Kubernetes' dependencies). The build takes minutes on a cold
# module cache, so the binary is cached per version and reused:
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/helm-<version>/helm
# Prints that path on stdout (progress goes to stderr). Nothing is downloaded but Go modules.
set -euo pipefail

# One compound command, read whole before it runs (see scripts/tofu.sh).
{

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODULE="$ROOT/tools/helm"
version="$(awk '$1 == "helm.sh/helm/v4" { print $2 }' "$MODULE/go.mod")"
[ -n "$version" ] || { echo "helm.sh: $MODULE/go.mod does not require helm.sh/helm/v4" >&2; exit 1; }

cache="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/helm-$version"
bin="$cache/helm"

# reports_version BIN: BIN runs and says it is this release.
reports_version() {
  local out
  out="$(HELM_CONFIG_HOME=/nonexistent "$1" version --template '{{.Version}}' 2>/dev/null)" || return 1
  [ "$out" = "$version" ]
}

if [ -x "$bin" ] && reports_version "$bin"; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "helm.sh: go is not on PATH; Helm is built from source with it" >&2; exit 1; }
echo "helm.sh: building Helm $version into $cache (minutes on a cold module cache, once per machine)" >&2
mkdir -p "$cache"
tmp="$(mktemp "$cache/.helm.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
started=$(date +%s)
# As Helm's Makefile builds a release: static, trimmed, the version stamped in.
(cd "$MODULE" && CGO_ENABLED=0 nice -n 10 go build -mod=readonly -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.metadata=" \
  -o "$tmp" helm.sh/helm/v4/cmd/helm)
reports_version "$tmp" || {
  echo "helm.sh: the built binary does not report Helm $version:" >&2
  "$tmp" version >&2 || true
  exit 1
}
mv -f "$tmp" "$bin"
echo "helm.sh: built in $(( $(date +%s) - started ))s" >&2
echo "$bin"
exit 0
}

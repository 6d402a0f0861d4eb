#!/usr/bin/env bash
# OpenTofu for the tests and `make demo TF=tofu`: built from the Go module proxy with the
# version and the hcl replacement pinned in tools/tofu/go.mod (a module of its own, so the
# provider's go.mod never sees OpenTofu's dependencies). The build takes about 9 minutes on a
# cold module cache, so the binary is cached per version and reused:
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/tofu-<version>/tofu
# Prints that path on stdout (progress goes to stderr). Nothing is downloaded but Go modules.
set -euo pipefail

# One compound command, read whole before it runs: editing this file during the long build
# cannot change what the running copy does next.
{

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODULE="$ROOT/tools/tofu"
version="$(awk '$1 == "github.com/opentofu/opentofu" { print $2 }' "$MODULE/go.mod")"
[ -n "$version" ] || { echo "tofu.sh: $MODULE/go.mod does not require github.com/opentofu/opentofu" >&2; exit 1; }

cache="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/tofu-$version"
bin="$cache/tofu"

# reports_version BIN: BIN runs and says it is this release (not a -dev build of it).
reports_version() {
  # A TF_CLI_CONFIG_FILE naming a missing file makes tofu print a warning first; not ours to judge here.
  local out
  out="$(TF_CLI_CONFIG_FILE= "$1" version 2>/dev/null)" || return 1
  [ "${out%%$'\n'*}" = "OpenTofu $version" ]
}

if [ -x "$bin" ] && reports_version "$bin"; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "tofu.sh: go is not on PATH; OpenTofu is built from source with it" >&2; exit 1; }
echo "tofu.sh: building OpenTofu $version into $cache (about 9 minutes on a cold module cache, once per machine)" >&2
mkdir -p "$cache"
tmp="$(mktemp "$cache/.tofu.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
started=$(date +%s)
# As OpenTofu's release build (.goreleaser.yaml): static, trimmed, and version.dev=no so that
# it reports "OpenTofu v1.12.6" rather than a -dev prerelease.
(cd "$MODULE" && CGO_ENABLED=0 go build -mod=readonly -trimpath \
  -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
  -o "$tmp" github.com/opentofu/opentofu/cmd/tofu)
reports_version "$tmp" || {
  echo "tofu.sh: the built binary does not report OpenTofu $version:" >&2
  TF_CLI_CONFIG_FILE= "$tmp" version >&2 || true
  exit 1
}
mv -f "$tmp" "$bin"
echo "tofu.sh: built in $(( $(date +%s) - started ))s" >&2
echo "$bin"
exit 0
}

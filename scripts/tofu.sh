#!/usr/bin/env bash
# OpenTofu for the tests and `make demo TF=tofu`: built from the Go module proxy with the
# version and the hcl replacement pinned in tools/tofu/go.mod (a module of its own, so the
# provider's go.mod never sees OpenTofu's dependencies). The build takes about 9 minutes on a
# cold module cache, so the binary is cached per version and reused (scripts/lib/tool-cache.sh):
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/tofu-<version>/tofu
# Prints that path on stdout (progress goes to stderr). Nothing is downloaded but Go modules.
set -euo pipefail

# One compound command, read whole before it runs: editing this file during the long build
# cannot change what the running copy does next.
{

. "$(dirname "$0")/lib/tool-cache.sh"
version="$(tool_version github.com/opentofu/opentofu tools/tofu/go.mod)"

# tool_reports_version BIN: BIN runs and says it is this release (not a -dev build of it).
tool_reports_version() {
  # A TF_CLI_CONFIG_FILE naming a missing file makes tofu print a warning first; not ours to judge here.
  local out
  out="$(TF_CLI_CONFIG_FILE= "$1" version 2>/dev/null)" || return 1
  [ "${out%%$'\n'*}" = "OpenTofu $version" ]
}

# As OpenTofu's release build (.goreleaser.yaml): static, trimmed, and version.dev=no so that
# it reports "OpenTofu v1.12.6" rather than a -dev prerelease.
tool_build() {
  cd tools/tofu && CGO_ENABLED=0 go build -mod=readonly -trimpath \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$1" github.com/opentofu/opentofu/cmd/tofu
}

tool_cache tofu "$version" "" "about 9 minutes on a cold module cache, once per machine"
}

#!/usr/bin/env bash
# gremlins, the mutation tester `make mutate` runs, built from the Go module proxy with the
# version pinned in tools/gremlins/go.mod (a module of its own, so the provider's go.mod never
# sees its dependencies) once per machine and cached by version (scripts/lib/tool-cache.sh):
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/gremlins-<version>/gremlins
# Prints that path on stdout (progress goes to stderr). About 30 s on a warm module cache.
set -euo pipefail

. "$(dirname "$0")/lib/tool-cache.sh"
version="$(tool_version github.com/go-gremlins/gremlins tools/gremlins/go.mod)"

tool_build() {
  cd tools/gremlins && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w" \
    -o "$1" github.com/go-gremlins/gremlins/cmd/gremlins
}

# The stamp is tools/gremlins' go.mod and go.sum: a changed dependency set rebuilds.
tool_cache gremlins "$version" "$(tool_stamp tools/gremlins/go.mod tools/gremlins/go.sum)" "once per machine"

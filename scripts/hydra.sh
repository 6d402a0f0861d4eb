#!/usr/bin/env bash
# Ory Hydra for the acceptance tests, built from the Go module proxy (tools/hydra, its own
# module) once per machine and cached (scripts/lib/tool-cache.sh); prints the binary's path on
# stdout. The tests find it there, or at $IDPGATE_HYDRA_BIN. sqlite (cgo) and json1 are what
# `dsn: memory` needs.
set -euo pipefail

. "$(dirname "$0")/lib/tool-cache.sh"
version=v2.3.0

tool_build() {
  command -v gcc >/dev/null || { echo "building hydra needs a C compiler for sqlite: apt-get install -y gcc" >&2; return 1; }
  cd tools/hydra && CGO_ENABLED=1 go build -trimpath -tags sqlite,json1 \
    -ldflags "-s -w -X github.com/ory/hydra/v2/driver/config.Version=$version" -o "$1" .
}

# The stamp is tools/hydra's module: a changed dependency set rebuilds, anything else reuses.
tool_cache hydra "$version" "$(tool_stamp tools/hydra/go.mod tools/hydra/go.sum tools/hydra/main.go)" \
  "once per machine, several minutes on 2 cores"

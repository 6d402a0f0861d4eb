#!/usr/bin/env bash
# A minimal OpenTelemetry Collector for the tracing tests: the collector's own OTLP receiver
# and the contrib file exporter (tools/otelcol, a module of its own, every collector module at
# one release), built from the Go module proxy once per machine and cached
# (scripts/lib/tool-cache.sh); prints the binary's path on stdout (progress on stderr). The
# tests find it there, or at $IDPGATE_OTELCOL_BIN. A cold build (empty build cache) takes
# about 3 minutes of CPU: about 2 minutes of wall time on two idle cores, much more on busy ones.
set -euo pipefail

. "$(dirname "$0")/lib/tool-cache.sh"
version="$(tool_version go.opentelemetry.io/collector/otelcol tools/otelcol/go.mod)"

tool_build() {
  (cd tools/otelcol && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w" -o "$1" .) || return 1
  "$1" --version >/dev/null || { echo "otelcol.sh: the built binary does not run" >&2; return 1; }
}

# The stamp is the module: a changed dependency set or main.go rebuilds, anything else reuses.
tool_cache otelcol "$version" "$(tool_stamp tools/otelcol/go.mod tools/otelcol/go.sum tools/otelcol/main.go)" \
  "once per machine"

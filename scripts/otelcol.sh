#!/usr/bin/env bash
# A minimal OpenTelemetry Collector for the tracing tests: the collector's own OTLP receiver
# and the contrib file exporter (tools/otelcol, a module of its own, every collector module at
# one release), built from the Go module proxy once per machine and cached; prints the
# binary's path on stdout (progress on stderr). The tests find it there, or at
# $IDPGATE_OTELCOL_BIN. A cold build (empty build cache) takes about 3 minutes of CPU: about
# 2 minutes of wall time on two idle cores, much more on busy ones.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(awk '$1 == "go.opentelemetry.io/collector/otelcol" { print $2 }' tools/otelcol/go.mod)"
[ -n "$version" ] || { echo "otelcol.sh: tools/otelcol/go.mod does not require go.opentelemetry.io/collector/otelcol" >&2; exit 1; }
dir="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/otelcol-$version"
bin="$dir/otelcol"
# The stamp is the module: a changed dependency set or main.go rebuilds, anything else reuses.
stamp="$(sha256sum tools/otelcol/go.mod tools/otelcol/go.sum tools/otelcol/main.go | sha256sum | cut -c1-16)"

if [ -x "$bin" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "otelcol $version: cached at $bin" >&2
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "otelcol.sh: go is not on PATH; the collector is built from source with it" >&2; exit 1; }
echo "otelcol $version: building into $bin (once per machine)" >&2
mkdir -p "$dir"
tmp="$(mktemp "$dir/otelcol.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
started=$(date +%s)
(cd tools/otelcol && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp" .)
"$tmp" --version >/dev/null || { echo "otelcol.sh: the built binary does not run" >&2; exit 1; }
mv "$tmp" "$bin"
echo "$stamp" >"$dir/stamp"
echo "otelcol $version: built in $(( $(date +%s) - started ))s at $bin" >&2
echo "$bin"

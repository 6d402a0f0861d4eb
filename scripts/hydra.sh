#!/usr/bin/env bash
# Ory Hydra for the acceptance tests, built from the Go module proxy (tools/hydra, its own
# module) once per machine and cached; prints the binary's path on stdout. The tests find it
# there, or at $IDPGATE_HYDRA_BIN. sqlite (cgo) and json1 are what `dsn: memory` needs.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v2.3.0
dir="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/hydra-$version"
bin="$dir/hydra"
# The stamp is tools/hydra's go.sum: a changed dependency set rebuilds, anything else reuses.
stamp="$(sha256sum tools/hydra/go.mod tools/hydra/go.sum tools/hydra/main.go | sha256sum | cut -c1-16)"

if [ -x "$bin" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "hydra $version: cached at $bin" >&2
  echo "$bin"
  exit 0
fi

command -v gcc >/dev/null || { echo "building hydra needs a C compiler for sqlite: apt-get install -y gcc" >&2; exit 1; }
echo "hydra $version: building into $bin (once per machine, several minutes on 2 cores)" >&2
mkdir -p "$dir"
tmp="$(mktemp "$dir/hydra.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd tools/hydra && CGO_ENABLED=1 go build -trimpath -tags sqlite,json1 \
  -ldflags "-s -w -X github.com/ory/hydra/v2/driver/config.Version=$version" -o "$tmp" .)
mv "$tmp" "$bin"
echo "$stamp" >"$dir/stamp"
echo "hydra $version: built at $bin" >&2
echo "$bin"

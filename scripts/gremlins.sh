#!/usr/bin/env bash
# gremlins, the mutation tester `make mutate` runs, built from the Go module proxy with the
# version pinned in tools/gremlins/go.mod (a module of its own, so the provider's go.mod never
# sees its dependencies) once per machine and cached by version:
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/gremlins-<version>/gremlins
# Prints that path on stdout (progress goes to stderr). About 30 s on a warm module cache.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(awk '$1 == "github.com/go-gremlins/gremlins" { print $2 }' tools/gremlins/go.mod)"
[ -n "$version" ] || { echo "gremlins.sh: tools/gremlins/go.mod does not require github.com/go-gremlins/gremlins" >&2; exit 1; }
dir="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/gremlins-$version"
bin="$dir/gremlins"
# The stamp is tools/gremlins' go.mod and go.sum: a changed dependency set rebuilds.
stamp="$(sha256sum tools/gremlins/go.mod tools/gremlins/go.sum | sha256sum | cut -c1-16)"

if [ -x "$bin" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "gremlins.sh: go is not on PATH; gremlins is built from source with it" >&2; exit 1; }
echo "gremlins $version: building into $bin (once per machine)" >&2
mkdir -p "$dir"
tmp="$(mktemp "$dir/.gremlins.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd tools/gremlins && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w" \
  -o "$tmp" github.com/go-gremlins/gremlins/cmd/gremlins)
mv -f "$tmp" "$bin"
echo "$stamp" >"$dir/stamp"
echo "$bin"

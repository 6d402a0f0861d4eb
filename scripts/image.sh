#!/usr/bin/env bash
# `make image`: the idpgate container image, built offline into an OCI image layout
# (default bin/image/) for linux/amd64 and linux/arm64 by tools/image, which drives ko's
# builder with a base made on this machine (the CA bundle of Debian's ca-certificates, and a
# passwd/group naming the non-root user 65532): nothing is pulled, no Docker daemon is used.
#
# Reproducible: every time stamp is the commit's time (SOURCE_DATE_EPOCH), so the same commit,
# Go version and CA bundle give the same digest. Prints the layout path and the digest.
#
# The tool itself (ko and go-containerregistry, a module of its own) is built once per machine
# and per source into the tools cache:
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/idpgate-image-<hash>/idpgate-image
#
# Environment: VERSION (default dev), IMAGE_OUT (default bin/image), IMAGE_PLATFORMS
# (default linux/amd64,linux/arm64), IMAGE_LICENSES (default MPL-2.0), SOURCE_DATE_EPOCH
# (default the commit's time).
set -euo pipefail
{

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODULE="$ROOT/tools/image"

# The tool, keyed by its sources: a change to them builds a new one.
hash="$(cd "$MODULE" && cat go.mod go.sum $(ls *.go | grep -v '_test\.go$' | sort) | sha256sum | cut -c1-16)"
cache="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/idpgate-image-$hash"
tool="$cache/idpgate-image"
if [ ! -x "$tool" ]; then
  command -v go >/dev/null || { echo "image.sh: go is not on PATH" >&2; exit 1; }
  echo "image.sh: building tools/image into $cache (ko and go-containerregistry; minutes on a cold module cache, once per machine)" >&2
  mkdir -p "$cache"
  tmp="$(mktemp "$cache/.idpgate-image.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  started=$(date +%s)
  (cd "$MODULE" && CGO_ENABLED=0 nice -n 10 go build -mod=readonly -trimpath -o "$tmp" .)
  mv -f "$tmp" "$tool"
  echo "image.sh: built in $(( $(date +%s) - started ))s" >&2
fi
[ "${1:-}" = "--tool-path" ] && { echo "$tool"; exit 0; }

commit="$(git -C "$ROOT" rev-parse HEAD)"
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct HEAD)}"
out="${IMAGE_OUT:-$ROOT/bin/image}"
"$tool" -repo "$ROOT" -out "$out" -version "${VERSION:-dev}" -commit "$commit" -epoch "$epoch" \
  -platforms "${IMAGE_PLATFORMS:-linux/amd64,linux/arm64}" -licenses "${IMAGE_LICENSES:-MPL-2.0}"
exit 0
}

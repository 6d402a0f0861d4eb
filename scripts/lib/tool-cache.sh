# shellcheck shell=bash
# What the tool scripts share (tofu.sh, helm.sh, otelcol.sh, gremlins.sh, hydra.sh): a tool
# built from the Go module proxy once per machine into the tools cache and reused,
#   ${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/<tool>-<version>/<tool>
# (internal/childproc's Tool finds it there). Sourced, not run. A script defines
#   tool_build OUT   builds the binary to OUT (run in the repository's root), checking it runs
# and optionally
#   tool_reports_version BIN   BIN says it is this release: a cached copy that does not is rebuilt,
#                              and a build that does not is refused
# then calls
#   tool_cache TOOL VERSION STAMP ABOUT
# STAMP: a digest of the inputs the binary is built from, or "" to trust the version alone;
# a cached copy with another stamp is rebuilt. ABOUT: how long a build takes, for the message.
# tool_cache prints the binary's path on stdout (progress goes to stderr) and exits.

TOOL_CACHE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# tool_stamp FILE...: a digest of FILEs (relative to the repository's root).
tool_stamp() {
  (cd "$TOOL_CACHE_ROOT" && sha256sum "$@" | sha256sum | cut -c1-16)
}

# tool_version MODULE GO_MOD: the version GO_MOD requires MODULE at; fails when it does not.
tool_version() {
  local v
  v="$(awk -v m="$1" '$1 == m { print $2 }' "$TOOL_CACHE_ROOT/$2")"
  [ -n "$v" ] || { echo "$(basename "$0"): $2 does not require $1" >&2; return 1; }
  echo "$v"
}

tool_cache() {
  local tool="$1" version="$2" stamp="$3" about="$4"
  local dir="${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/$tool-$version"
  local bin="$dir/$tool" me
  me="$(basename "$0")"
  if [ -x "$bin" ] && { [ -z "$stamp" ] || [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; } &&
    { ! declare -F tool_reports_version >/dev/null || tool_reports_version "$bin"; }; then
    echo "$tool $version: cached at $bin" >&2
    echo "$bin"
    exit 0
  fi

  command -v go >/dev/null || { echo "$me: go is not on PATH; $tool is built from source with it" >&2; exit 1; }
  echo "$tool $version: building into $bin ($about)" >&2
  mkdir -p "$dir"
  tmp="$(mktemp "$dir/.$tool.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  local started
  started=$(date +%s)
  (cd "$TOOL_CACHE_ROOT" && tool_build "$tmp") || { echo "$me: building $tool $version failed" >&2; exit 1; }
  if declare -F tool_reports_version >/dev/null && ! tool_reports_version "$tmp"; then
    echo "$me: the built binary does not report $tool $version" >&2
    exit 1
  fi
  mv -f "$tmp" "$bin"
  if [ -n "$stamp" ]; then echo "$stamp" >"$dir/stamp"; fi
  echo "$tool $version: built in $(( $(date +%s) - started ))s at $bin" >&2
  echo "$bin"
  exit 0
}

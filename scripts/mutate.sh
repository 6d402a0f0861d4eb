#!/usr/bin/env bash
# Mutation testing (`make mutate`): gremlins (scripts/gremlins.sh, pinned in tools/gremlins)
# changes the code one operator at a time (a < for a <=, a == for a !=, a + for a -, ...),
# runs the package's tests against each change, and reports the mutants no test noticed
# ("LIVED"). Efficacy = killed / (killed + lived).
#
#   make mutate                               the packages with Go files changed against main
#                                             (committed on this branch or not)
#   make mutate PKG=./internal/gateway/token  one package
#
# Not in CI: a package takes tens of minutes on two cores. The run is niced and bounded:
# MUTATE_WORKERS workers (default 1), each test run on MUTATE_TEST_CPU CPUs (default 1), and a
# mutant's test run (build included) that takes MUTATE_TIMEOUT_COEFFICIENT (default 5) times
# the reference run is counted TIMED OUT. The reference is gremlins' coverage run, made with
# -count=1 here so that it is a real run and not go test's cached result (against which, on a
# busy machine, nearly every mutant "timed out" and counted for nothing).
# MUTATE_FLAGS adds gremlins flags, e.g. MUTATE_FLAGS='--exclude-files admin\.go'.
set -euo pipefail

# One compound command, read whole before it runs: editing this file during a long run cannot
# change what the running copy does next.
{

cd "$(dirname "$0")/.."

base="${MUTATE_BASE:-main}"
workers="${MUTATE_WORKERS:-1}"
testcpu="${MUTATE_TEST_CPU:-1}"
coef="${MUTATE_TIMEOUT_COEFFICIENT:-5}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"
read -r -a extra <<<"${MUTATE_FLAGS:-}"

gremlins="$(bash scripts/gremlins.sh)"

pkgs=()
if [ -n "${PKG:-}" ]; then
  read -r -a pkgs <<<"$PKG"
else
  # Packages with non-test Go files changed since the merge base with $base, plus uncommitted
  # changes; test-only changes mutate the package they test too.
  mb="$(git merge-base HEAD "$base")"
  mapfile -t dirs < <({ git diff --name-only "$mb" -- '*.go'; git diff --name-only HEAD -- '*.go'; } |
    grep -v '^tools/' | xargs -r -n1 dirname | sort -u)
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    ls "$d"/*.go 2>/dev/null | grep -qv '_test\.go$' || continue
    pkgs+=("./$d")
  done
  if [ ${#pkgs[@]} -eq 0 ]; then
    echo "mutate: no Go package changed against $base; name one: make mutate PKG=./internal/gateway/token" >&2
    exit 0
  fi
fi

status=0
summary=()
for p in "${pkgs[@]}"; do
  echo "== mutate $p ($(basename "$(dirname "$gremlins")"), $workers worker(s), timeout coefficient $coef)"
  # gremlins walks the directories below the one named; their packages get runs of their own.
  subs=()
  for sub in "${p#./}"/*/; do
    sub="${sub%/}"
    ls "$sub"/*.go >/dev/null 2>&1 && subs+=(-E "(^|/)$(basename "$sub")/")
  done
  out="$(mktemp)"
  started=$(date +%s)
  # gremlins prints every mutant as it is tested; the survivors and totals are repeated after.
  if ! nice -n 10 "$gremlins" unleash --workers "$workers" --test-cpu "$testcpu" \
      --timeout-coefficient "$coef" "${subs[@]}" "${extra[@]}" "$p" 2>&1 | tee "$out"; then
    rm -f "$out"; status=1; continue
  fi
  echo
  echo "surviving mutants of $p (LIVED; paths relative to it):"
  grep -E '^[[:space:]]*LIVED ' "$out" | sed 's/^[[:space:]]*/  /' || echo "  none"
  grep -E '^[[:space:]]*TIMED OUT ' "$out" | sed 's/^[[:space:]]*/  /' || true
  sed -n '/^Killed:/,$p' "$out"
  summary+=("$p: $(grep -E '^Test efficacy:' "$out" | sed 's/Test efficacy: //') efficacy, $(grep -E '^Killed:' "$out") ($(( $(date +%s) - started ))s)")
  rm -f "$out"
done
echo
echo "== mutate summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
}

#!/usr/bin/env bash
# go-test-tally.sh LABEL [go test flags and packages...]
# Runs `go test -v` with the given arguments, keeps its whole output in a log, and prints one
# line per package and a total that counts the tests that really ran, e.g.
#   OpenTofu v1.12.6: 161 passed (98 tests, 63 subtests), 0 failed, 0 skipped in 118s
# so that a run under Terraform and one under OpenTofu can be compared. On failure it prints
# the log without the lines of passing tests. It fails when go test fails, when no test ran,
# or when a test was skipped: a skipped test hides a gap (the acceptance tests skip only
# without TF_ACC=1).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 LABEL [go test arguments...]" >&2; exit 2; }
label="$1"
shift
log="$(mktemp "${TMPDIR:-/tmp}/go-test-tally.XXXXXX")"

started=$(date +%s)
set +e
go test -v "$@" >"$log" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - started ))

# Counted from go test -v's result lines: "--- PASS: Name" (a top-level test) and the same
# indented (a subtest); a package's lines end with its "ok"/"FAIL" line.
summary="$(awk -v label="$label" -v elapsed="$elapsed" '
  function add(kind, top) { if (top) t[kind]++; else s[kind]++ }
  /^--- (PASS|FAIL|SKIP): /          { add($2, 1); next }
  /^[ \t]+--- (PASS|FAIL|SKIP): /    { add($2, 0); next }
  /^(ok|FAIL)[ \t]+[^ \t]+[ \t]/ {
    pass = t["PASS:"] + s["PASS:"]; fail = t["FAIL:"] + s["FAIL:"]; skip = t["SKIP:"] + s["SKIP:"]
    printf "  %-4s %s: %d passed (%d tests, %d subtests), %d failed, %d skipped\n", $1, $2, pass, t["PASS:"], s["PASS:"], fail, skip
    P += pass; PT += t["PASS:"]; PS += s["PASS:"]; F += fail; S += skip
    delete t; delete s
  }
  END {
    printf "%s: %d passed (%d tests, %d subtests), %d failed, %d skipped in %ds\n", label, P, PT, PS, F, S, elapsed
    if (P == 0) exit 3
    if (S > 0) exit 4
  }' "$log")" && verdict=0 || verdict=$?

drives="$(grep -m 1 -o 'acceptance tests drive .*' "$log" || true)"
if [ "$status" -ne 0 ] || [ "$verdict" -ne 0 ]; then
  echo "--- go test $* (full log: $log)" >&2
  grep -v -E '^=== (RUN|PAUSE|CONT|NAME)|^[ \t]*--- PASS: ' "$log" >&2 || true
fi
echo "$summary"
[ -z "$drives" ] || echo "  ($drives)"
case "$verdict" in
  3) echo "$label: no test ran; check the packages and -run pattern" >&2; exit 1 ;;
  4) echo "$label: skipped tests (a skip hides a gap; make them fail with what is missing):" >&2
     grep -E '^[ \t]*--- SKIP: ' "$log" >&2; exit 1 ;;
esac
[ "$status" -eq 0 ] || exit "$status"
rm -f "$log"

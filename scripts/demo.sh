#!/usr/bin/env bash
# make demo: the whole idpgate flow on this machine, no IdP account and no registry needed.
# TF names the tool: terraform (default) or tofu, on PATH or as a path (make demo TF=tofu).
#   1. build the provider and the idpgate binary;
#   2. start `idpgate dev` (mock IdP + gateway + echo upstream on 127.0.0.1, random ports);
#   3. follow the steps it prints: source its env file (which points TF_CLI_CONFIG_FILE at
#      its dev_overrides for this build), then init and apply examples/quickstart;
#   4. mint a token for the registered client and call the protected API: 200, then 401
#      without a token, then 429 past the policy's rate limit;
#   5. destroy and stop everything.
# Exits non-zero as soon as a step does not behave; cleans up its processes either way.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/idpgate-demo.XXXXXX")"
DEV_PID=""

cleanup() {
  local status=$?
  if [ -n "$DEV_PID" ] && kill -0 "$DEV_PID" 2>/dev/null; then
    kill -TERM "$DEV_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$DEV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$WORK/dev.log" ]; then
    echo "--- idpgate dev log" >&2
    tail -n 30 "$WORK/dev.log" >&2
  fi
  rm -rf "$WORK"
  if [ "$status" -eq 0 ]; then echo "demo: PASS"; else echo "demo: FAIL" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }

# expect_status WANT DESCRIPTION CURL_ARGS... : one request, its status must be WANT.
expect_status() {
  local want="$1" what="$2"; shift 2
  local got
  got="$(curl -sS -o "$WORK/body" -w '%{http_code}' "$@")" || fail "$what: request failed"
  printf '    %-44s -> %s\n' "$what" "$got"
  [ "$got" = "$want" ] || { cat "$WORK/body" >&2; fail "$what: want HTTP $want, got $got"; }
}

TF="${TF:-terraform}"
if ! command -v "$TF" >/dev/null; then
  # OpenTofu is built from source once per machine when it is not installed.
  [ "$(basename "$TF")" = tofu ] || fail "$TF must be on PATH (or set TF=tofu, or TF=/path/to/terraform)"
  TF="$(bash "$ROOT/scripts/tofu.sh")"
fi
command -v curl >/dev/null || fail "curl must be on PATH"
# tofu prints CLI configuration warnings on stdout before its version line.
TOOL="$("$TF" version 2>/dev/null | grep -E '^(Terraform|OpenTofu) v' | sed -n 1p || true)"
echo "demo with $TOOL ($(command -v "$TF"))"

step "Building the provider and idpgate"
mkdir -p "$WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/terraform-provider-idpgate" . && go build -o "$WORK/bin/idpgate" ./cmd/idpgate)

step "Starting idpgate dev (mock IdP, gateway, echo upstream) on 127.0.0.1"
"$WORK/bin/idpgate" dev --idp-listen 127.0.0.1:0 --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --upstream-listen 127.0.0.1:0 --env-file "$WORK/env" >"$WORK/dev.log" 2>&1 &
DEV_PID=$!
for _ in $(seq 100); do
  [ -f "$WORK/env" ] && break
  kill -0 "$DEV_PID" 2>/dev/null || fail "idpgate dev exited early"
  sleep 0.1
done
[ -f "$WORK/env" ] || fail "idpgate dev did not become ready within 10s"
# shellcheck disable=SC1091
. "$WORK/env"
echo "    issuer $IDPGATE_ISSUER, gateway $IDPGATE_DEV_PROXY_URL (admin $IDPGATE_GATEWAY_URL)"

name="$(basename "$TF")"
step "$name init && $name apply in examples/quickstart, as idpgate dev says (provider from this build)"
# The env file set TF_CLI_CONFIG_FILE; nothing else points the tool at the provider.
[ -f "${TF_CLI_CONFIG_FILE:-}" ] || fail "idpgate dev exported no TF_CLI_CONFIG_FILE (did it find bin/terraform-provider-idpgate?)"
grep -q -F "$name init && $name apply" "$WORK/dev.log" || fail "idpgate dev does not print the steps for $name"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
mkdir -p "$WORK/tf"
cp "$ROOT/examples/quickstart/main.tf" "$WORK/tf/"
tf() { "$TF" -chdir="$WORK/tf" "$@"; }
tf init -input=false -no-color >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log" >&2; fail "$TF init failed"; }
grep -E 'has been successfully initialized' "$WORK/init.log"
tf apply -auto-approve -input=false -no-color >"$WORK/apply.log" 2>&1 || { cat "$WORK/apply.log" >&2; fail "$TF apply failed"; }
grep -E '^Apply complete' "$WORK/apply.log"

step "A second plan changes nothing"
tf plan -detailed-exitcode -input=false -no-color >"$WORK/plan.log" 2>&1 || { cat "$WORK/plan.log" >&2; fail "second plan is not empty"; }
echo "    No changes."

CLIENT_ID="$(tf output -raw client_id)"
CLIENT_SECRET="$(tf output -raw client_secret)"
echo "    registered client_id $CLIENT_ID"

step "Minting a token for the registered client (client_credentials)"
curl -sS -f -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials -d scope=orders \
  "$IDPGATE_DEV_TOKEN_URL" >"$WORK/token.json" || fail "token request failed"
TOKEN="$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' "$WORK/token.json")"
[ -n "$TOKEN" ] || fail "no access_token in the token answer"
echo "    got a JWT access token (${#TOKEN} bytes)"

step "Calling the protected API through the gateway"
API="$IDPGATE_DEV_PROXY_URL/orders/items"
expect_status 200 "GET /orders/items with the token" -H "Authorization: Bearer $TOKEN" "$API"
echo "    upstream saw: $(cat "$WORK/body")"
grep -q "\"X-Idpgate-Client-Id\":\"$CLIENT_ID\"" "$WORK/body" || fail "upstream did not receive X-Idpgate-Client-Id"
expect_status 401 "GET /orders/items without a token" "$API"
expect_status 401 "GET /orders/items with a tampered token" -H "Authorization: Bearer ${TOKEN%?}x" "$API"
expect_status 403 "DELETE /orders/items (not granted)" -X DELETE -H "Authorization: Bearer $TOKEN" "$API"

step "Past the rate limit (100 requests a minute: a burst of 100, refilled at 100/min)"
ok=1
started=$(date +%s)
while :; do
  code="$(curl -sS -o /dev/null -D "$WORK/headers" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API")"
  [ "$code" = 200 ] || break
  ok=$((ok + 1))
  [ "$ok" -le 150 ] || fail "no 429 after 150 requests"
done
echo "    $ok requests allowed, then HTTP $code"
[ "$code" = 429 ] || fail "want HTTP 429 past the limit, got $code"
# The burst is 100, and the bucket refills 100/60 tokens a second while the loop runs.
elapsed=$(( $(date +%s) - started + 1 ))
most=$(( 100 + (elapsed * 100 + 59) / 60 + 1 ))
[ "$ok" -ge 100 ] && [ "$ok" -le "$most" ] || fail "want 100 to $most requests allowed in ${elapsed}s, got $ok"
# The headers of that refused request (asking again could find a token refilled meanwhile).
grep -i -q '^retry-after:' "$WORK/headers" || fail "the 429 carries no Retry-After"
grep -i -E '^(retry-after|x-ratelimit-[a-z]+):' "$WORK/headers" | sed 's/^/    /'

step "The gateway's access log (in idpgate dev's output)"
requests=$((ok + 2 + 1 + 1)) # the allowed ones (the first GET among them), two 401s, the 403, the 429
# The gateway writes its access log through a buffer flushed every 200 ms.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  lines="$(grep -c '"msg":"access"' "$WORK/dev.log" || true)"
  [ "$lines" -ge "$requests" ] && break
  sleep 0.2
done
[ "$lines" -eq "$requests" ] || fail "want $requests access log lines, one per request, got $lines"
first="$(grep -m 1 '"msg":"access"' "$WORK/dev.log")"
for field in api method path status outcome client_id subject policy upstream_ms duration_ms bytes; do
  case "$first" in *"\"$field\":"*) ;; *) fail "the access log lines lack $field" ;; esac
done
grep -q -F "$TOKEN" "$WORK/dev.log" && fail "a token appears in idpgate dev's log"
grep -q -F "${TOKEN%?}x" "$WORK/dev.log" && fail "the tampered token appears in idpgate dev's log"
echo "    $lines lines, one per request, no token; the first:"
echo "    $first"

step "$name destroy"
tf destroy -auto-approve -input=false -no-color >"$WORK/destroy.log" 2>&1 || { cat "$WORK/destroy.log" >&2; fail "$TF destroy failed"; }
grep -E '^Destroy complete' "$WORK/destroy.log"
remaining="$(curl -sS -H "Authorization: Bearer $IDPGATE_GATEWAY_ADMIN_TOKEN" "$IDPGATE_GATEWAY_URL/v1/apis")"
[ "$remaining" = '{"apis":[]}' ] || fail "APIs left on the gateway after destroy: $remaining"
echo "    gateway holds no API"

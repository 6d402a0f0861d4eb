#!/usr/bin/env bash
# What the tests need besides Go and terraform, so that the README's test command passes on a
# fresh machine: Ory Hydra and OpenTofu built from the Go module proxy (scripts/hydra.sh and
# scripts/tofu.sh: once per machine, then reused from their cache), and the servers the tests
# start on loopback from Debian's packages, installed when missing. Nothing is started: the
# packages' own services are kept from starting with a policy-rc.d during the install.
set -euo pipefail

# Ory Hydra v2.3.0, built from the Go module proxy once per machine (scripts/hydra.sh caches it).
bash "$(dirname "$0")/hydra.sh" >/dev/null
bash "$(dirname "$0")/tofu.sh" >/dev/null

# command:package (chromium: the browser tests of CORS, internal/gateway/cors_browser_test.go)
wanted=(redis-server:redis-server nginx:nginx caddy:caddy chromium:chromium)

missing=()
for pair in "${wanted[@]}"; do
  cmd="${pair%%:*}" pkg="${pair#*:}"
  PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "test dependencies: installing ${missing[*]} from Debian's packages" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
policy=/usr/sbin/policy-rc.d
placed=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  placed=1
fi
trap '[ -n "$placed" ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

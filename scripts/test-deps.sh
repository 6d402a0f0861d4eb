#!/usr/bin/env bash
# The servers the tests start on loopback (each with its own config and data dir), from
# Debian's packages: installed here when missing, so the README's test command passes on a
# fresh machine. Nothing is started: the packages' own services are kept from starting with
# a policy-rc.d for the duration of the install.
# First it builds OpenTofu for the acceptance tests' second leg (scripts/tofu.sh: once per
# machine, about 9 minutes on a cold module cache, then reused from its cache).
set -euo pipefail

bash "$(dirname "$0")/tofu.sh" >/dev/null

# command:package
wanted=(redis-server:redis-server nginx:nginx caddy:caddy)

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

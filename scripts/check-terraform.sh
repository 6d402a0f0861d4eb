#!/usr/bin/env bash
# Fails unless the terraform on PATH is 1.11 or later: the acceptance tests of write-only
# attributes (<name>_wo) and of the ephemeral idpgate_access_token need it, and nothing here
# downloads one.
set -euo pipefail
min_major=1 min_minor=11

if ! command -v terraform >/dev/null; then
  echo "terraform (${min_major}.${min_minor}+) must be on PATH; tests never download one." >&2
  echo "Install it from https://developer.hashicorp.com/terraform/install (or HashiCorp's apt repository)." >&2
  exit 1
fi
version="$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p' || true)"
if [ -z "$version" ]; then # before 0.13 there is no -json: certainly too old
  version="$(terraform version 2>/dev/null | sed -n '1s/^Terraform v//p' || true)"
fi
major="${version%%.*}" rest="${version#*.}"
minor="${rest%%.*}"
if ! [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]]; then
  echo "cannot read the version of $(command -v terraform) (got '${version}'); terraform ${min_major}.${min_minor}+ is needed" >&2
  exit 1
fi
if (( major < min_major || (major == min_major && minor < min_minor) )); then
  echo "terraform ${version} at $(command -v terraform) is too old: ${min_major}.${min_minor} or later is needed" >&2
  echo "(write-only attributes and ephemeral resources). Put a newer terraform first on PATH." >&2
  exit 1
fi
echo "terraform ${version} at $(command -v terraform)"

#!/usr/bin/env bash
# The acceptance tests under OpenTofu (make testacc-tofu; the second leg of make test-all):
# the provider's package, whose tests drive every resource, data source and the ephemeral
# resource through the CLI, and the printed `idpgate dev` steps with `tofu init && tofu apply`.
# The rest of the suite does not involve the CLI and runs once, in the Terraform leg.
# TOFU_RACE=1 adds the race detector (the Terraform leg has it; here it only costs time).
set -euo pipefail
cd "$(dirname "$0")/.."

tofu="$(bash scripts/tofu.sh)"
# tofu warns before its version when TF_CLI_CONFIG_FILE names a missing file, and the test
# harness then cannot read the version: leave such a setting out of this leg.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  echo "testacc-tofu: TF_CLI_CONFIG_FILE=$TF_CLI_CONFIG_FILE does not exist; unset for OpenTofu" >&2
  unset TF_CLI_CONFIG_FILE
fi
version="$("$tofu" version | sed -n 1p)"
echo "$version at $tofu"

# The test harness runs the binary TF_ACC_TERRAFORM_PATH names, and gives the in-process
# provider the address OpenTofu resolves hashicorp/idpgate to. IDPGATE_ACC_CLI makes
# TestAccCLI fail if the tests drove anything else.
export TF_ACC=1 TF_ACC_TERRAFORM_PATH="$tofu" TF_ACC_PROVIDER_HOST=registry.opentofu.org IDPGATE_ACC_CLI=OpenTofu
export CHECKPOINT_DISABLE=1
race=()
[ -z "${TOFU_RACE:-}" ] || race=(-race)

bash scripts/go-test-tally.sh "$version, internal/provider" "${race[@]}" -count=1 -timeout 30m ./internal/provider
bash scripts/go-test-tally.sh "$version, idpgate dev's printed steps" "${race[@]}" -count=1 -timeout 10m \
  -run '^TestAccDevPrintedSteps$' ./cmd/idpgate

// Command hydra is Ory Hydra v2.3.0, built from the Go module proxy for the acceptance
// tests: its own module, so Hydra's large dependency tree never enters the provider's go.mod.
// scripts/hydra.sh builds it with -tags sqlite,json1 (for `dsn: memory`).
package main

import "github.com/ory/hydra/v2/cmd"

func main() {
	cmd.Execute()
}

package provider

import "runtime/debug"

// providerGCPercent is the provider's GOGC: terraform starts a provider process per run (and
// per plan, apply, import), and it lives seconds to minutes, with a small live heap (the
// schemas, the configured clients and the values of the resources in flight). At Go's
// default of 100 the collector took about a sixth of the provider's CPU in an apply of 300
// resources (make bench-provider), while the heap stays a few tens of MiB at 400.
const providerGCPercent = 400

// SetGCPercentUnlessConfigured sets providerGCPercent unless the user set GOGC.
func SetGCPercentUnlessConfigured(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(providerGCPercent)
	}
}

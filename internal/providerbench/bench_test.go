package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// TestBenchProviderSmall runs make bench-provider's whole cycle at N=2, one round: the three
// providers built, applied, planned and destroyed through the terraform on PATH against the
// mock IdP and the gateway. It checks the cycle, not the timings: each phase measured on every
// side, the idpgate side really talking to the IdP and the gateway, plans empty and nothing
// left (run fails otherwise).
func TestBenchProviderSmall(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("drives terraform like the acceptance tests: set TF_ACC=1")
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatalf("terraform must be on PATH: %v", err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	res, err := run(context.Background(), options{N: n, Rounds: 1, ModuleRoot: root, WorkDir: t.TempDir()},
		func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range phases {
		if len(res.idpgate[p]) != 1 || len(res.noop[p]) != 1 || len(res.schema[p]) != 1 {
			t.Fatalf("%s: %d idpgate, %d do-nothing and %d schema-only samples, want 1 each", p,
				len(res.idpgate[p]), len(res.noop[p]), len(res.schema[p]))
		}
	}
	apply, destroy := res.idpgate[phaseApply][0], res.idpgate[phaseDestroy][0]
	// In each of the plan's and the apply's provider processes: one discovery for the
	// registration endpoint, one for the plan-time checks of the clients and one JWKS for
	// those of the APIs (never one per resource); and one registration per client.
	if want := n + 2*3; apply.idpRequests != want {
		t.Errorf("apply sent %d requests to the IdP, want %d", apply.idpRequests, want)
	}
	if apply.admin.writes != 2*n || destroy.admin.writes != 2*n {
		t.Errorf("gateway writes: %d in apply, %d in destroy; want %d each (an API and a policy per client)",
			apply.admin.writes, destroy.admin.writes, 2*n)
	}
	for name, side := range map[string]map[phase][]sample{"do-nothing": res.noop, "schema-only": res.schema} {
		if side[phaseApply][0].idpRequests != 0 || side[phaseApply][0].admin.writes != 0 {
			t.Errorf("the %s provider's apply reached the IdP or the gateway", name)
		}
	}
}

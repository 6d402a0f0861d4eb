package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// options are the benchmark's knobs (its flags).
type options struct {
	// N resources of each idpgate type; the do-nothing provider gets 3N.
	N int
	// Rounds of apply, plan and destroy per provider; each figure is their median.
	Rounds int
	// Parallelism is terraform's -parallelism; 0 leaves Terraform's default (10).
	Parallelism int
	// ModuleRoot is the repository root, where the providers are built from.
	ModuleRoot string
	// WorkDir holds the binaries, the working directories and the gateway's store.
	WorkDir string
	// ProviderExtra is added to the idpgate provider block.
	ProviderExtra string
	// BeforeRoot, when set, is another checkout of the module (e.g. `git archive main`)
	// whose provider is measured too, in the same run, against the same servers.
	BeforeRoot string
	// ProfileDir, when set, gets a CPU profile of every idpgate provider process and of the
	// servers (servers.pprof).
	ProfileDir string
}

// phase is one Terraform command that the benchmark times.
type phase string

const (
	phaseApply   phase = "apply"
	phasePlan    phase = "plan"
	phaseDestroy phase = "destroy"
)

var phases = []phase{phaseApply, phasePlan, phaseDestroy}

// sample is one timed terraform command: its measurement, and the CPU time the in-process
// servers (mock IdP and gateway) used meanwhile.
type sample struct {
	measurement
	serverCPU time.Duration
	// idpRequests is how many requests the IdP received; admin what the gateway's admin
	// API answered (zero on the do-nothing side).
	idpRequests int
	admin       callCounts
}

// result holds every sample, per provider and phase.
type result struct {
	idpgate, noop map[phase][]sample
	// schema is idpgate's schemas with no work (schemaprovider): the floor for resources of
	// idpgate's shape.
	schema map[phase][]sample
	// before is the provider of options.BeforeRoot; nil without one.
	before map[phase][]sample
}

// median is the median of one figure of a provider's samples for a phase.
func median(samples []sample, figure func(sample) time.Duration) time.Duration {
	d := make([]time.Duration, len(samples))
	for i, s := range samples {
		d[i] = figure(s)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func wall(s sample) time.Duration      { return s.wall }
func cpu(s sample) time.Duration       { return s.cpu }
func serverCPU(s sample) time.Duration { return s.serverCPU }

// ratio is a side's median wall time over the do-nothing provider's, for one phase.
func (r result) ratio(side map[phase][]sample, p phase) float64 {
	return float64(median(side[p], wall)) / float64(median(r.noop[p], wall))
}

// buildProviders builds idpgate's provider and the do-nothing one into dir.
func buildProviders(ctx context.Context, moduleRoot, dir string, profiled bool) error {
	idpgate := "."
	if profiled {
		idpgate = "./internal/providerbench/profiledprovider"
	}
	if err := goBuild(ctx, moduleRoot, idpgate, filepath.Join(dir, "terraform-provider-idpgate")); err != nil {
		return err
	}
	return goBuild(ctx, moduleRoot, "./internal/providerbench/noopprovider", filepath.Join(dir, "terraform-provider-noop"))
}

func goBuild(ctx context.Context, moduleRoot, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = moduleRoot
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, moduleRoot, err, output)
	}
	return nil
}

// run measures the providers in turns, so that the machine's state affects them alike.
// Each idpgate round checks what a user would: an empty refresh plan after apply, and
// nothing left at the IdP or the gateway after destroy.
func run(ctx context.Context, opts options, progress func(string)) (result, error) {
	res := result{idpgate: map[phase][]sample{}, noop: map[phase][]sample{}, schema: map[phase][]sample{}}
	binDir := filepath.Join(opts.WorkDir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return res, err
	}
	progress("building the providers")
	if err := buildProviders(ctx, opts.ModuleRoot, binDir, opts.ProfileDir != ""); err != nil {
		return res, err
	}
	st, err := startStack(filepath.Join(opts.WorkDir, "gateway"))
	if err != nil {
		return res, err
	}
	defer st.Close()

	idp, err := newWorkspace(opts.WorkDir, "idpgate", binDir, idpgateConfig("idpgate", opts.N, st, opts.ProviderExtra), opts.Parallelism)
	if err != nil {
		return res, err
	}
	if opts.ProfileDir != "" {
		idp.env = append(idp.env, "IDPGATE_BENCH_PROFILE_DIR="+opts.ProfileDir)
		stopProfile, err := profileServers(filepath.Join(opts.ProfileDir, "servers.pprof"))
		if err != nil {
			return res, err
		}
		defer stopProfile()
	}
	noop, err := newWorkspace(opts.WorkDir, "noop", binDir, noopConfig(opts.N), opts.Parallelism)
	if err != nil {
		return res, err
	}
	type side struct {
		name  string
		ws    *workspace
		times map[phase][]sample
	}
	schemaBin := filepath.Join(opts.WorkDir, "bin-schema")
	if err := goBuild(ctx, opts.ModuleRoot, "./internal/providerbench/schemaprovider", filepath.Join(schemaBin, "terraform-provider-idpgate")); err != nil {
		return res, err
	}
	schema, err := newWorkspace(opts.WorkDir, "schema", schemaBin, idpgateConfig("schema", opts.N, st, opts.ProviderExtra), opts.Parallelism)
	if err != nil {
		return res, err
	}
	sides := []side{{"noop", noop, res.noop}, {"schema", schema, res.schema}, {"idpgate", idp, res.idpgate}}
	if opts.BeforeRoot != "" {
		beforeBin := filepath.Join(opts.WorkDir, "bin-before")
		progress("building the provider of " + opts.BeforeRoot)
		if err := goBuild(ctx, opts.BeforeRoot, ".", filepath.Join(beforeBin, "terraform-provider-idpgate")); err != nil {
			return res, err
		}
		ws, err := newWorkspace(opts.WorkDir, "before", beforeBin, idpgateConfig("before", opts.N, st, opts.ProviderExtra), opts.Parallelism)
		if err != nil {
			return res, err
		}
		res.before = map[phase][]sample{}
		sides = append(sides, side{"before", ws, res.before})
	}

	// Each side runs its whole cycle before the next starts, so that the gateway holds only
	// that side's objects (its writes cost more the more it holds).
	for round := 1; round <= opts.Rounds; round++ {
		for _, side := range sides {
			for _, p := range phases {
				st.IdP.ResetRequests()
				st.adminCalls.take()
				before := ownCPU()
				took, err := side.ws.phase(ctx, p)
				if err != nil {
					return res, fmt.Errorf("round %d, %s: %w", round, side.name, err)
				}
				s := sample{measurement: took, serverCPU: ownCPU() - before, idpRequests: len(st.IdP.Requests()),
					admin: st.adminCalls.take()}
				side.times[p] = append(side.times[p], s)
				ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
				progress(fmt.Sprintf("round %d: %-8s %-8s %d resources %9v  CPU terraform+provider %v, servers %v; "+
					"IdP requests %d; gateway reads %d (%v), writes %d (%v, in flight for %v of the run)",
					round, side.name, p, 3*opts.N, ms(s.wall), ms(s.cpu), ms(s.serverCPU), s.idpRequests,
					s.admin.reads, ms(s.admin.readTime), s.admin.writes, ms(s.admin.writeTime), ms(s.admin.writeBusy)))
			}
			if err := st.leftovers(ctx); err != nil {
				return res, fmt.Errorf("round %d, %s: %w", round, side.name, err)
			}
		}
	}
	return res, nil
}

func (w *workspace) phase(ctx context.Context, p phase) (measurement, error) {
	switch p {
	case phaseApply:
		return w.apply(ctx)
	case phasePlan:
		return w.plan(ctx)
	default:
		return w.destroy(ctx)
	}
}

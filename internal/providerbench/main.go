// Command providerbench is `make bench-provider`: in one run on this machine, it times
// terraform apply, a refresh plan and destroy of 3N idpgate resources (N idpgate_dcr_client
// at the mock IdP, N idpgate_protected_api and N idpgate_access_policy at the gateway, both
// on 127.0.0.1) against 3N resources of a framework provider that does nothing
// (noopprovider), with the same Terraform and parallelism, and prints the three ratios. A
// third provider, schemaprovider, has idpgate's schemas and does no work: how it compares
// with the do-nothing one is what Terraform and the framework cost for resources of
// idpgate's shape, and how idpgate compares with it is what idpgate's own work costs. It
// fails when a refresh plan is not empty or when anything is left at the IdP or the gateway
// after destroy, so it doubles as the 1,000-resource run (-n 334). Not shipped.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	opts := options{}
	flag.IntVar(&opts.N, "n", 100, "resources of each idpgate type (3N in all)")
	flag.IntVar(&opts.Rounds, "rounds", 1, "rounds of apply, plan and destroy per provider; the median counts")
	flag.IntVar(&opts.Parallelism, "parallelism", 0, "terraform -parallelism (0: Terraform's default, 10)")
	flag.StringVar(&opts.ProviderExtra, "provider-extra", "", "HCL added to the idpgate provider block, e.g. 'max_requests_per_second = 50'")
	flag.StringVar(&opts.ProfileDir, "cpuprofile", "", "`directory` for CPU profiles of each idpgate provider process and of the servers")
	flag.StringVar(&opts.BeforeRoot, "before", "", "`directory` of another checkout of the module (e.g. git archive main | tar -x -C DIR) "+
		"whose provider is measured too, in the same run")
	keep := flag.Bool("keep", false, "keep the work directory (configs, state, binaries)")
	flag.Parse()
	if opts.N < 1 || opts.Rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench-provider: -n and -rounds must be at least 1")
		os.Exit(2)
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		fmt.Fprintln(os.Stderr, "bench-provider: terraform (1.11+) must be on PATH; nothing here downloads it")
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code := 0
	if err := benchmark(ctx, opts, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-provider:", err)
		code = 1
	}
	stop()
	os.Exit(code)
}

func benchmark(ctx context.Context, opts options, keep bool) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	opts.ModuleRoot = root
	if opts.WorkDir, err = os.MkdirTemp("", "idpgate-bench-provider-"); err != nil {
		return err
	}
	if keep {
		fmt.Println("work directory:", opts.WorkDir)
	} else {
		defer func() { _ = os.RemoveAll(opts.WorkDir) }()
	}
	started := time.Now()
	res, err := run(ctx, opts, func(s string) { fmt.Println(s) })
	if err != nil {
		return err
	}
	fmt.Printf("\n%d idpgate resources (%d clients, %d APIs, %d policies) vs %d do-nothing resources, %d round(s), medians:\n",
		3*opts.N, opts.N, opts.N, opts.N, 3*opts.N, opts.Rounds)
	fmt.Printf("%-8s %12s %12s %8s   %s\n", "phase", "idpgate", "do-nothing", "ratio",
		"CPU idpgate (terraform+provider / mock IdP+gateway) vs do-nothing")
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	for _, p := range phases {
		fmt.Printf("%-8s %12v %12v %7.2fx   %v / %v vs %v\n", p, ms(median(res.idpgate[p], wall)), ms(median(res.noop[p], wall)),
			res.ratio(res.idpgate, p), ms(median(res.idpgate[p], cpu)), ms(median(res.idpgate[p], serverCPU)), ms(median(res.noop[p], cpu)))
	}
	fmt.Printf("\nidpgate's schemas with no work behind them (schemaprovider: what Terraform and the framework cost for resources of this shape), same run:\n")
	fmt.Printf("%-8s %12s %12s %8s %22s   %s\n", "phase", "schema-only", "do-nothing", "ratio", "idpgate / schema-only",
		"CPU terraform+provider")
	for _, p := range phases {
		fmt.Printf("%-8s %12v %12v %7.2fx %21.2fx   %v\n", p, ms(median(res.schema[p], wall)), ms(median(res.noop[p], wall)),
			res.ratio(res.schema, p), float64(median(res.idpgate[p], wall))/float64(median(res.schema[p], wall)), ms(median(res.schema[p], cpu)))
	}
	if res.before != nil {
		fmt.Printf("\nthe provider of %s, in the same run:\n", opts.BeforeRoot)
		for _, p := range phases {
			fmt.Printf("%-8s %12v %12v %7.2fx   %v / %v vs %v\n", p, ms(median(res.before[p], wall)), ms(median(res.noop[p], wall)),
				res.ratio(res.before, p), ms(median(res.before[p], cpu)), ms(median(res.before[p], serverCPU)), ms(median(res.noop[p], cpu)))
		}
	}
	fmt.Printf("plans empty after apply; nothing left at the IdP or the gateway after destroy; %v in all\n",
		time.Since(started).Round(time.Second))
	return nil
}

// moduleRoot is the directory of go.mod, where the providers are built from.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

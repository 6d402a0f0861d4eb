// Command profiledprovider is idpgate's provider with a CPU profile: `make bench-provider`
// builds it instead of the real one with -cpuprofile, so that each provider process terraform
// starts writes $IDPGATE_BENCH_PROFILE_DIR/provider-<pid>.pprof when terraform shuts it down.
// Not shipped.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/idpgate/terraform-provider-idpgate/internal/provider"
)

func main() {
	if dir := os.Getenv("IDPGATE_BENCH_PROFILE_DIR"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("provider-%d.pprof", os.Getpid())))
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	for k, v := range provider.LogLevelsFromTerraform(os.Getenv) {
		if err := os.Setenv(k, v); err != nil {
			log.Fatal(err)
		}
	}
	err := providerserver.Serve(context.Background(), provider.New("bench", "none"), providerserver.ServeOpts{
		Address: "registry.terraform.io/idpgate/idpgate",
	})
	if err != nil {
		log.Print(err)
	}
}

// Command terraform-provider-idpgate is the idpgate Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/idpgate/terraform-provider-idpgate/internal/provider"
)

// Set by the release build with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	if !debug {
		// Under terraform, log no finer than terraform keeps (see LogLevelsFromTerraform).
		// With -debug the logs go to this process's own stderr, where a developer reads them.
		for k, v := range provider.LogLevelsFromTerraform(os.Getenv) {
			if err := os.Setenv(k, v); err != nil {
				log.Fatal(err.Error())
			}
		}
	}

	err := providerserver.Serve(context.Background(), provider.New(version, commit), providerserver.ServeOpts{
		Address: "registry.terraform.io/idpgate/idpgate",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

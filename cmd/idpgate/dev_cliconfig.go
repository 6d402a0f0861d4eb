package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// The provider is in no registry a fresh checkout can reach, so `terraform init` in
// examples/quickstart would fail. `idpgate dev` points Terraform and OpenTofu at the
// provider binary of this build instead, through a CLI configuration (both read
// TF_CLI_CONFIG_FILE) with dev_overrides. Both tools still resolve an overridden provider in
// `init`, so the configuration also offers it from a local mirror: a placeholder whose bytes
// never change, so that the hash init writes to .terraform.lock.hcl stays right across
// rebuilds; plan and apply run the binary dev_overrides names, never the placeholder.

// providerAddresses are idpgate/idpgate under Terraform and under OpenTofu, each of which
// expands the short source address with its own registry.
var providerAddresses = []string{"registry.terraform.io/idpgate/idpgate", "registry.opentofu.org/idpgate/idpgate"}

// mirrorVersion is the version the local mirror offers: a release number (a prerelease is
// never chosen without an exact constraint, and 0.0.0 means "unspecified" to both tools)
// that no real release will have.
const mirrorVersion = "0.0.1"

// mirrorPlaceholder is what the mirror holds in place of the provider.
const mirrorPlaceholder = "#!/bin/sh\n" +
	"echo 'terraform-provider-idpgate placeholder from idpgate dev: the provider runs from the dev_overrides directory of TF_CLI_CONFIG_FILE' >&2\n" +
	"exit 1\n"

// providerBinaryName is the provider's executable, as `make build` and `make install` name it.
func providerBinaryName() string {
	if runtime.GOOS == "windows" {
		return "terraform-provider-idpgate.exe"
	}
	return "terraform-provider-idpgate"
}

// providerSearchDirs lists where the provider binary may be, in order: beside this idpgate
// (both land in bin/ with `make build`, in $GOBIN with `make install`), then where
// `go install` puts binaries ($GOBIN, else the first $GOPATH's bin, else ~/go/bin), for an
// idpgate started with `go run`.
func providerSearchDirs(executable string, getenv func(string) string) []string {
	var dirs []string
	if executable != "" {
		if resolved, err := filepath.EvalSymlinks(executable); err == nil {
			executable = resolved
		}
		dirs = append(dirs, filepath.Dir(executable))
	}
	switch {
	case getenv("GOBIN") != "":
		dirs = append(dirs, getenv("GOBIN"))
	case getenv("GOPATH") != "":
		dirs = append(dirs, filepath.Join(filepath.SplitList(getenv("GOPATH"))[0], "bin"))
	case getenv("HOME") != "":
		dirs = append(dirs, filepath.Join(getenv("HOME"), "go", "bin"))
	}
	return dirs
}

// findProviderDir returns the first of dirs that holds an executable provider binary.
func findProviderDir(dirs []string) (string, error) {
	for _, dir := range dirs {
		info, err := os.Stat(filepath.Join(dir, providerBinaryName()))
		if err == nil && info.Mode().IsRegular() && (runtime.GOOS == "windows" || info.Mode().Perm()&0o111 != 0) {
			return filepath.Abs(dir)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("no %s in %s: run `make build` (then bin/idpgate dev) or `make install` first, or name its directory with --provider-dir",
		providerBinaryName(), strings.Join(dirs, " or "))
}

// sandboxCLIConfig is the CLI configuration `idpgate dev` wrote.
type sandboxCLIConfig struct {
	path        string
	providerDir string
}

// writeSandboxCLIConfig finds the provider (in providerDir when set) and writes the CLI
// configuration that uses it into sandboxDir.
func writeSandboxCLIConfig(providerDir, sandboxDir string) (sandboxCLIConfig, error) {
	dirs := []string{providerDir}
	if providerDir == "" {
		exe, _ := os.Executable() // unknown: search only where `go install` puts binaries
		dirs = providerSearchDirs(exe, os.Getenv)
	}
	found, err := findProviderDir(dirs)
	if err != nil {
		return sandboxCLIConfig{}, err
	}
	mirror := filepath.Join(sandboxDir, "providers")
	if err := writeProviderMirror(mirror); err != nil {
		return sandboxCLIConfig{}, fmt.Errorf("writing the provider mirror for init: %w", err)
	}
	path := filepath.Join(sandboxDir, "terraformrc")
	if err := os.WriteFile(path, devCLIConfig(found, mirror), 0o600); err != nil {
		return sandboxCLIConfig{}, fmt.Errorf("writing the CLI configuration: %w", err)
	}
	return sandboxCLIConfig{path: path, providerDir: found}, nil
}

// printDevSteps tells the user what to run next; the steps work as printed with terraform and
// with tofu.
func printDevSteps(out io.Writer, envFile string, cli sandboxCLIConfig, providerErr error) {
	load := "Paste the lines above into a shell"
	if envFile != "" {
		load = fmt.Sprintf("Run `source %s` (or paste the lines above into a shell)", envFile)
	}
	fmt.Fprintf(out, "%s, then, in examples/quickstart:\n\n    terraform init && terraform apply\n\n"+
		"or with OpenTofu: tofu init && tofu apply.\n", load)
	if providerErr != nil {
		fmt.Fprintf(out, "TF_CLI_CONFIG_FILE is left alone, so init looks for the idpgate provider in a registry:\n%v\n", providerErr)
	} else {
		fmt.Fprintf(out, "TF_CLI_CONFIG_FILE makes both use the provider in %s\n(dev_overrides: they warn about it).\n", cli.providerDir)
	}
	fmt.Fprint(out, "Ctrl-C stops everything.\n")
}

// devCLIConfig is a Terraform/OpenTofu CLI configuration that runs idpgate/idpgate from
// providerDir, lets init find it in mirrorDir, and takes every other provider from its
// registry. The short source address in dev_overrides resolves to each tool's own registry,
// so one file serves both.
func devCLIConfig(providerDir, mirrorDir string) []byte {
	quoted := make([]string, len(providerAddresses))
	for i, a := range providerAddresses {
		quoted[i] = strconv.Quote(a)
	}
	addrs := strings.Join(quoted, ", ")
	return fmt.Appendf(nil, `# Written by idpgate dev: Terraform and OpenTofu run the idpgate provider of this build.
provider_installation {
  dev_overrides {
    "idpgate/idpgate" = %s
  }
  # Only for init, which resolves overridden providers too.
  filesystem_mirror {
    path    = %s
    include = [%s]
  }
  direct {
    exclude = [%s]
  }
}
`, strconv.Quote(filepath.ToSlash(providerDir)), strconv.Quote(filepath.ToSlash(mirrorDir)), addrs, addrs)
}

// runtimeTarget is the platform as provider packages name it, e.g. linux_amd64.
func runtimeTarget() string { return runtime.GOOS + "_" + runtime.GOARCH }

// writeProviderMirror lays out the placeholder as a filesystem mirror in the "unpacked"
// layout: HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE.
func writeProviderMirror(mirrorDir string) error {
	for _, addr := range providerAddresses {
		dir := filepath.Join(mirrorDir, filepath.FromSlash(addr), mirrorVersion, runtimeTarget())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, providerBinaryName()), []byte(mirrorPlaceholder), 0o755); err != nil {
			return err
		}
	}
	return nil
}

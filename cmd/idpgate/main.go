// Command idpgate is the companion binary of the idpgate Terraform provider:
//
//	idpgate serve      the token-validating API gateway
//	idpgate mock-idp   an OAuth 2.0 / OpenID Connect identity provider for tests and demos
//	idpgate dev        the mock IdP and the gateway together, for trying the provider locally
//	idpgate config     export or import the gateway's configuration store as JSON
//	idpgate explain    what the gateway would do with a request, and why
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

var (
	version = "dev"
	commit  = "none"
)

// usageError is a command-line mistake: exit status 2, like the flag package.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// parseFlags parses a command's flags: a mistake is a usage error, and positional
// arguments are refused since no command takes any.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// setUsage makes fs's help text the command's description, then its flags.
func setUsage(fs *flag.FlagSet, text string) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		fs.PrintDefaults()
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(args[1:], stderr)
	case "mock-idp":
		err = runMockIdP(args[1:])
	case "dev":
		err = runDev(args[1:])
	case "config":
		err = runConfig(args[1:], os.Stdout)
	case "explain":
		err = runExplain(args[1:], os.Stdout)
	case "version", "--version", "-version":
		fmt.Fprintf(os.Stdout, "idpgate %s (%s)\n", version, commit)
		return 0
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			// `idpgate help serve` is `idpgate serve --help`.
			return run([]string{args[1], "--help"}, stderr)
		}
		usage(os.Stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "idpgate: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(stderr, "idpgate %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "idpgate %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: idpgate <command> [flags]

Commands:
  serve      run the token-validating API gateway (admin API + proxy)
  mock-idp   run a mock OAuth 2.0 / OpenID Connect identity provider
  dev        run the mock IdP and the gateway together for local trials
  config     export | import: the configuration store (bbolt or Redis) as JSON
  explain    what the gateway would do with a request, and why (nothing is sent)
  version    print the version

Run "idpgate <command> --help" (or "idpgate help <command>") for the flags of a command.
`)
}

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// runConfig is `idpgate config export|import`: a JSON copy of every API and policy, to back
// up a store, move from bbolt to Redis, or restore.
func runConfig(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErrorf("export or import expected: idpgate config export|import [flags]")
	}
	switch args[0] {
	case "export":
		return configExport(args[1:], stdout)
	case "import":
		return configImport(args[1:], stdout)
	}
	return usageErrorf("unknown config command %q: export or import expected", args[0])
}

const configHelp = `The file holds every API and policy as stored, introspection client secrets included:
keep it as secret as the store (it is written with mode 0600).

`

func configFlags(name, summary string, out io.Writer) (*flag.FlagSet, *storeFlags, *string) {
	fs := flag.NewFlagSet("config "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	sf := &storeFlags{}
	dataDir := defaultServeConfig().dataDir
	sf.register(fs, &dataDir)
	setUsage(fs, fmt.Sprintf("Usage: idpgate config %s [flags]\n\n%s\n\n%sFlags:\n", name, summary, configHelp))
	return fs, sf, &dataDir
}

func configExport(args []string, stdout io.Writer) error {
	fs, sf, dataDir := configFlags("export", "Writes the configuration store (--data-dir or --redis-url) as JSON.", os.Stderr)
	out := fs.String("out", "-", "`file` to write (mode 0600); - is stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	st, err := sf.open(*dataDir)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }() // read only: nothing to lose
	cfg, err := st.Export()
	if err != nil {
		return fmt.Errorf("reading the store: %w", err)
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	if *out == "-" {
		_, err = stdout.Write(raw)
		return err
	}
	// Created 0600; an existing file is truncated and narrowed to 0600 too.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(raw); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d APIs and %d policies to %s\n", len(cfg.APIs), len(cfg.Policies), *out)
	return nil
}

func configImport(args []string, stdout io.Writer) error {
	fs, sf, dataDir := configFlags("import", "Loads a JSON export into the configuration store (--data-dir or --redis-url), keeping ids,\n"+
		"in one transaction. A store that holds anything is refused unless --replace.", os.Stderr)
	in := fs.String("in", "-", "`file` to read; - is stdin")
	replace := fs.Bool("replace", false, "remove every API and policy in the store first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	var raw []byte
	var err error
	if *in == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(*in)
	}
	if err != nil {
		return err
	}
	var cfg store.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s is not an idpgate config export: %w", *in, err)
	}
	st, err := sf.open(*dataDir)
	if err != nil {
		return err
	}
	if err := st.Import(cfg, *replace); err != nil {
		_ = st.Close()
		if errors.Is(err, store.ErrNotEmpty) {
			return fmt.Errorf("%w: nothing imported; pass --replace to overwrite it", err)
		}
		return fmt.Errorf("nothing imported: %w", err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d APIs and %d policies\n", len(cfg.APIs), len(cfg.Policies))
	return nil
}

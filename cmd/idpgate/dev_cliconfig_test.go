package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeProviderDir is a directory holding an executable named like the provider.
func fakeProviderDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, providerBinaryName()), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestProviderSearchDirs(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	exe := filepath.Join(t.TempDir(), "bin", "idpgate")
	cases := map[string]struct {
		exe  string
		env  map[string]string
		want []string
	}{
		"beside idpgate, then GOBIN": {exe: exe, env: map[string]string{"GOBIN": "/gobin", "GOPATH": "/gopath", "HOME": "/home/u"},
			want: []string{filepath.Dir(exe), "/gobin"}},
		"first GOPATH entry": {env: map[string]string{"GOPATH": "/a" + string(filepath.ListSeparator) + "/b", "HOME": "/home/u"},
			want: []string{filepath.Join("/a", "bin")}},
		"go's default": {env: map[string]string{"HOME": "/home/u"}, want: []string{filepath.Join("/home/u", "go", "bin")}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := providerSearchDirs(tc.exe, env(tc.env))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFindProviderDir(t *testing.T) {
	empty, found := t.TempDir(), fakeProviderDir(t)
	notExecutable := t.TempDir()
	if err := os.WriteFile(filepath.Join(notExecutable, providerBinaryName()), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := findProviderDir([]string{empty, notExecutable, found})
	if err != nil || got != found {
		t.Errorf("got %q, %v; want %s", got, err, found)
	}
	_, err = findProviderDir([]string{empty, notExecutable})
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "--provider-dir") {
		t.Errorf("nothing found: %v, want a message that says how to build the provider", err)
	}
}

// TestWriteSandboxCLIConfig checks the files init reads: dev_overrides for the found
// provider, and a mirror offering idpgate/idpgate under both registries' addresses.
func TestWriteSandboxCLIConfig(t *testing.T) {
	providerDir, sandbox := fakeProviderDir(t), t.TempDir()
	cli, err := writeSandboxCLIConfig(providerDir, sandbox)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(cli.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"idpgate/idpgate" = "` + filepath.ToSlash(providerDir) + `"`, "filesystem_mirror", "exclude",
		`"registry.terraform.io/idpgate/idpgate"`, `"registry.opentofu.org/idpgate/idpgate"`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the CLI configuration lacks %s:\n%s", want, text)
		}
	}
	var first []byte
	for _, host := range []string{"registry.terraform.io", "registry.opentofu.org"} {
		placeholder, err := os.ReadFile(filepath.Join(sandbox, "providers", host, "idpgate", "idpgate", mirrorVersion,
			runtimeTarget(), providerBinaryName()))
		if err != nil {
			t.Fatalf("mirror for %s: %v", host, err)
		}
		// The same bytes on every run: the hash init locks must not change with a rebuild.
		if first != nil && !bytes.Equal(first, placeholder) {
			t.Error("the placeholders differ")
		}
		first = placeholder
	}
	if _, err := writeSandboxCLIConfig(t.TempDir(), sandbox); err == nil {
		t.Error("a --provider-dir without the provider was accepted")
	}
}

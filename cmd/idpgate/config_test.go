package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// TestConfigExportBoltImportRedis: `idpgate config export` of a bbolt store, imported with
// `idpgate config import` into Redis, holds the same objects (ids, timestamps and the
// introspection secret); the file is 0600; a second import is refused unless --replace.
func TestConfigExportBoltImportRedis(t *testing.T) {
	dir := t.TempDir()
	b, err := store.OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	api, _, err := b.CreateAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: "http://127.0.0.1:1",
		Introspection: &adminapi.Introspection{Endpoint: "https://idp.example/introspect", ClientID: "gw", ClientSecret: "intro-s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.CreatePolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: api.ID}},
		Quota: &adminapi.Limit{Requests: 10, Per: adminapi.Duration(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	want, _ := b.Export()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "backup.json")
	var stderr bytes.Buffer
	if code := run([]string{"config", "export", "--data-dir", dir, "--out", file}, &stderr); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr.String())
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(file)
	if !strings.Contains(string(raw), "intro-s3cret") {
		t.Error("the export lacks the introspection client secret: a restore would break the API")
	}

	srv := redistest.Start(t)
	args := []string{"config", "import", "--redis-url", srv.URL, "--redis-key-prefix", "imp:", "--in", file}
	if code := run(args, &stderr); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(args, &stderr); code != 1 || !strings.Contains(stderr.String(), "--replace") {
		t.Errorf("second import: exit %d, %q; want 1 and a hint at --replace", code, stderr.String())
	}
	if code := run(append(args, "--replace"), &stderr); code != 0 {
		t.Fatalf("import --replace: exit %d: %s", code, stderr.String())
	}
	r, err := store.OpenRedis(t.Context(), store.RedisOptions{URL: srv.URL, KeyPrefix: "imp:"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Export()
	if err != nil {
		t.Fatal(err)
	}
	got.Version, want.Version = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Redis after import:\n got %+v\nwant %+v", got, want)
	}
}

func TestConfigUsage(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"config"}, {"config", "frob"}, {"config", "export", "--nope"}} {
		stderr.Reset()
		if code := run(args, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	t.Setenv(adminTokenEnv, "x")
	if code := run([]string{"serve", "--redis-limits-fallback", "maybe"}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "local or deny") {
		t.Errorf("a bad --redis-limits-fallback: exit %d, %q", code, stderr.String())
	}
}

package main

// The image's checks, run by `make image-check` after `make image`: what the layout under
// bin/image holds (entrypoint, user, labels, platforms, no shell, nothing executable but a
// static idpgate), that the amd64 binary taken out of its layer runs `idpgate serve` with the
// arguments the chart renders for the Redis mode and answers /readyz, and that a second build
// of the same commit has the same digest. Containers cannot run on these machines: the binary
// runs as a plain process; no container runtime is faked.

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"sigs.k8s.io/yaml"
)

// layoutDir is the layout `make image` wrote (IMAGE_LAYOUT, default bin/image), or a failure
// that says how to make it.
func layoutDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IMAGE_LAYOUT")
	if dir == "" {
		dir = "../../bin/image"
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Fatalf("no OCI image layout at %s (%v): run `make image` first (`make image-check` does)", dir, err)
	}
	return dir
}

// images returns the layout's one index and its images by platform.
func images(t *testing.T) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	p, err := layout.FromPath(layoutDir(t))
	if err != nil {
		t.Fatal(err)
	}
	outer, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(om.Manifests) != 1 || !om.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("layout's index.json: %d entries %+v, want one image index", len(om.Manifests), om.Manifests)
	}
	idx, err := outer.ImageIndex(om.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Platform.OS+"/"+d.Platform.Architecture] = img
	}
	return idx, out
}

var wantPlatforms = []string{"linux/amd64", "linux/arm64"}

func TestImageConfig(t *testing.T) {
	_, imgs := images(t)
	var got []string
	for p := range imgs {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantPlatforms) {
		t.Fatalf("platforms %v, want %v", got, wantPlatforms)
	}
	for platform, img := range imgs {
		t.Run(platform, func(t *testing.T) {
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS+"/"+cf.Architecture != platform {
				t.Errorf("config says %s/%s", cf.OS, cf.Architecture)
			}
			if !slices.Equal(cf.Config.Entrypoint, []string{"/ko-app/idpgate"}) || len(cf.Config.Cmd) != 0 {
				t.Errorf("entrypoint %q cmd %q, want [/ko-app/idpgate] and no cmd", cf.Config.Entrypoint, cf.Config.Cmd)
			}
			if cf.Config.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532", cf.Config.User)
			}
			for _, l := range []string{"source", "version", "revision", "licenses"} {
				if cf.Config.Labels["org.opencontainers.image."+l] == "" {
					t.Errorf("label org.opencontainers.image.%s missing", l)
				}
			}
			if rev := cf.Config.Labels["org.opencontainers.image.revision"]; !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(rev) {
				t.Errorf("revision label %q is not a commit hash", rev)
			}
			checkFiles(t, img, cf.Architecture)
		})
	}
}

// checkFiles walks every layer: no shell or other program, only a static idpgate is
// executable, and passwd names the non-root user.
func checkFiles(t *testing.T, img v1.Image, arch string) {
	t.Helper()
	files := layerFiles(t, img)
	for name, f := range files {
		base := path.Base(name)
		if slices.Contains([]string{"sh", "bash", "ash", "dash", "zsh", "busybox", "toybox"}, base) {
			t.Errorf("%s: a shell in the image", name)
		}
		if f.hdr.Typeflag == tar.TypeReg && f.hdr.Mode&0o111 != 0 && name != "ko-app/idpgate" {
			t.Errorf("%s: executable file other than ko-app/idpgate", name)
		}
		if f.hdr.Typeflag == tar.TypeSymlink || f.hdr.Typeflag == tar.TypeLink {
			t.Errorf("%s: link to %s", name, f.hdr.Linkname)
		}
	}
	passwd, ok := files["etc/passwd"]
	if !ok || !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:`).Match(passwd.data) {
		t.Errorf("etc/passwd lacks nonroot 65532: %q", passwd.data)
	}
	if ca := files["etc/ssl/certs/ca-certificates.crt"]; !bytes.Contains(ca.data, []byte("BEGIN CERTIFICATE")) {
		t.Error("no CA bundle at etc/ssl/certs/ca-certificates.crt")
	}
	bin, ok := files["ko-app/idpgate"]
	if !ok {
		t.Fatal("no ko-app/idpgate")
	}
	checkStatic(t, bin.data, arch)
}

// checkStatic: an ELF for arch with no interpreter and no shared library.
func checkStatic(t *testing.T, b []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ko-app/idpgate is not ELF: %v", err)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("ko-app/idpgate is for %v, want %v", f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("ko-app/idpgate has a dynamic loader (PT_INTERP): not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("ko-app/idpgate needs %v: not static", libs)
	}
}

type tarFile struct {
	hdr  *tar.Header
	data []byte
}

// layerFiles is the image's file system, later layers over earlier ones (no whiteouts are
// expected in an image built from scratch; one fails).
func layerFiles(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]tarFile{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
			if strings.HasPrefix(path.Base(name), ".wh.") {
				t.Errorf("whiteout %s in an image built from scratch", name)
			}
			data, err := io.ReadAll(io.LimitReader(tr, 256<<20))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = tarFile{hdr: h, data: data}
		}
		_ = rc.Close()
	}
	return files
}

// chartRedisContainer renders charts/idpgate with ci/redis.yaml (HELM, as make image-check
// sets it) and returns the gateway container's args and env.
func chartRedisContainer(t *testing.T) (args []string, env []envVar) {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Fatal("HELM is not set: run `make image-check`, which builds Helm with `bash scripts/helm.sh` and sets it")
	}
	home := t.TempDir()
	cmd := exec.Command(helm, "template", "idpgate", "../../charts/idpgate", "-f", "../../charts/idpgate/ci/redis.yaml")
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template -f ci/redis.yaml: %v", err)
	}
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(out), -1) {
		var d struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name string   `json:"name"`
							Args []string `json:"args"`
							Env  []envVar `json:"env"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatal(err)
		}
		if d.Kind == "Deployment" {
			c := d.Spec.Template.Spec.Containers[0]
			return c.Args, c.Env
		}
	}
	t.Fatal("ci/redis.yaml renders no Deployment")
	return nil, nil
}

type envVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"secretKeyRef"`
		ResourceFieldRef *struct {
			Resource string `json:"resource"`
		} `json:"resourceFieldRef"`
	} `json:"valueFrom"`
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis runs a redis-server on loopback until the test ends, or fails naming the
// script that installs it.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: run `bash scripts/test-deps.sh` to install it from Debian's packages")
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := io.ReadFull(c, buf)
			c.Close()
			if string(buf[:n]) == "+PONG\r\n" {
				return "redis://" + addr + "/0"
			}
		}
	}
	t.Fatal("redis-server did not answer PING within 10s")
	return ""
}

// TestImageBinaryServesTheChartsRedisArgs runs the amd64 idpgate out of the image with the
// Redis mode's rendered args and env, the Secrets' values supplied as the kubelet would.
// Only the listen addresses change: the pod's :8080/:8081 become free loopback ports.
func TestImageBinaryServesTheChartsRedisArgs(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("this check runs the linux/amd64 binary and needs a linux/amd64 machine, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	_, imgs := images(t)
	files := layerFiles(t, imgs["linux/amd64"])
	bin := filepath.Join(t.TempDir(), "idpgate")
	if err := os.WriteFile(bin, files["ko-app/idpgate"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	args, env := chartRedisContainer(t)
	redisURL := startRedis(t)

	proxyPort, adminPort := freePort(t), freePort(t)
	var run []string
	for _, a := range args {
		switch {
		case a == "-listen=:8080":
			a = fmt.Sprintf("-listen=127.0.0.1:%d", proxyPort)
		case a == "-admin-listen=:8081":
			a = fmt.Sprintf("-admin-listen=127.0.0.1:%d", adminPort)
		case strings.HasPrefix(a, "-listen") || strings.HasPrefix(a, "-admin-listen"):
			t.Fatalf("the chart renders %q; this test expects -listen=:8080 and -admin-listen=:8081", a)
		}
		run = append(run, a)
	}
	if len(run) == 0 || run[0] != "serve" {
		t.Fatalf("chart args %q do not start with serve", args)
	}
	// The container's environment as the kubelet builds it: the Secrets' keys, the memory limit.
	secrets := map[string]string{"idpgate-redis/url": redisURL, "idpgate-admin/token": "image-test-admin-token-0123456789abcdef"}
	cenv := []string{"PATH=/ko-app", "KO_DATA_PATH=/var/run/ko", "HOME=" + t.TempDir()}
	for _, e := range env {
		switch {
		case e.ValueFrom == nil:
			cenv = append(cenv, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			v, ok := secrets[ref]
			if !ok {
				t.Fatalf("env %s comes from Secret key %s, which this test does not supply", e.Name, ref)
			}
			cenv = append(cenv, e.Name+"="+v)
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			cenv = append(cenv, e.Name+"=268435456")
		default:
			t.Fatalf("env %s: a source this test does not know", e.Name)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, run...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = cenv, t.TempDir(), &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("idpgate %q\nstdout:\n%s\nstderr:\n%s", run, stdout.String(), stderr.String())
		}
	})

	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	client := &http.Client{Timeout: 2 * time.Second}
	var status struct {
		Status string `json:"status"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("idpgate serve exited before it was ready: %v", err)
		default:
		}
		resp, err := client.Get(admin + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &status) == nil && status.Status == "ready" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 ready within 30s (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The admin API answers with the token from the Secret, over the Redis store.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, admin+"/v1/apis", nil)
	req.Header.Set("Authorization", "Bearer "+secrets["idpgate-admin/token"])
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/apis with the admin token: %v %v", resp, err)
	}
	// The proxy listener serves; the access log line goes to stdout, as the chart asks.
	if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/no-such-api", proxyPort)); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("proxy listener: %v %v, want 404", resp, err)
	}
	// A pod's stop: SIGTERM, then a clean exit within the rendered -shutdown-timeout.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("idpgate serve after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("idpgate serve did not stop within 30s of SIGTERM")
	}
	if !strings.Contains(stdout.String(), `"/no-such-api"`) {
		t.Errorf("no access log line on stdout: %q", stdout.String())
	}
	// It ran on the test's Redis, as the Secret's URL says, not on a bbolt file of its own.
	wantStore := fmt.Sprintf(`"store":"redis %s prefix idpgate:"`, redisURL)
	if !strings.Contains(stderr.String(), wantStore) {
		t.Errorf("the start line does not name the store %s: %q", wantStore, stderr.String())
	}
}

// TestImageIsReproducible builds the image again from the same tree, commit and time into a
// temporary layout and compares the digests.
func TestImageIsReproducible(t *testing.T) {
	tool := os.Getenv("IMAGE_TOOL")
	if tool == "" {
		t.Fatal("IMAGE_TOOL is not set: run `make image-check` (it builds the tool with `bash scripts/image.sh --tool-path`)")
	}
	idx, imgs := images(t)
	want, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := imgs["linux/amd64"].ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	l := cf.Config.Labels
	out := filepath.Join(t.TempDir(), "image")
	cmd := exec.Command(tool, "-repo", "../..", "-out", out, "-version", l["org.opencontainers.image.version"],
		"-commit", l["org.opencontainers.image.revision"], "-licenses", l["org.opencontainers.image.licenses"],
		"-epoch", strconv.FormatInt(cf.Created.Unix(), 10))
	cmd.Stderr = os.Stderr
	printed, err := cmd.Output()
	if err != nil {
		t.Fatalf("second build: %v", err)
	}
	if got := strings.TrimSpace(string(printed)); got != out+"@"+want.String() {
		t.Errorf("second build of the same commit: %s, first: %s", got, want)
	}
}

// Command idpgate-image builds the idpgate container image with ko, offline: the base image is
// made here (an empty image plus one layer with the CA bundle and a passwd/group naming the
// non-root user 65532), never pulled, and handed to ko's builder, which compiles
// ./cmd/idpgate for each platform (CGO_ENABLED=0, -trimpath) and adds it as /ko-app/idpgate,
// the entrypoint. The multi-platform index is written as an OCI image layout.
//
// Every time stamp comes from -epoch (make image passes the commit's time), so the same commit
// and the same CA bundle give the same digest.
//
//	idpgate-image -repo . -out bin/image -version v1.2.3 -commit <sha> -epoch <unix seconds>
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/ko/pkg/build"
)

// ImportPath is the package ko builds.
const ImportPath = "github.com/idpgate/terraform-provider-idpgate/cmd/idpgate"

// NonRoot is the user and group the image runs as (distroless' "nonroot").
const NonRoot = 65532

// baseName names the locally made base in the image's org.opencontainers.image.base.name
// annotation. It is never resolved: nothing is pulled.
const baseName = "localhost/idpgate-base:local"

type options struct {
	repo, out, version, commit, source, licenses, caBundle string
	platforms                                              []string
	epoch                                                  time.Time
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("idpgate-image: ")
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}
	digest, err := run(context.Background(), o)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s@%s\n", o.out, digest)
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("idpgate-image", flag.ContinueOnError)
	o := &options{}
	var platforms string
	var epoch int64
	fs.StringVar(&o.repo, "repo", ".", "root `directory` of the repository (the module that holds ./cmd/idpgate)")
	fs.StringVar(&o.out, "out", "bin/image", "OCI image layout `directory` to write (replaced)")
	fs.StringVar(&o.version, "version", "dev", "version: main.version and the org.opencontainers.image.version label")
	fs.StringVar(&o.commit, "commit", "", "commit: main.commit and the org.opencontainers.image.revision label (required)")
	fs.StringVar(&o.source, "source", "https://github.com/idpgate/terraform-provider-idpgate", "org.opencontainers.image.source label")
	fs.StringVar(&o.licenses, "licenses", "MPL-2.0", "org.opencontainers.image.licenses label (SPDX expression)")
	fs.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle `file` copied into the image")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated platforms")
	fs.Int64Var(&epoch, "epoch", -1, "time stamp of every layer and config, as Unix seconds (SOURCE_DATE_EPOCH; required)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.commit == "" || epoch < 0 {
		return nil, errors.New("-commit and -epoch are required (make image passes the commit and its time)")
	}
	o.epoch = time.Unix(epoch, 0).UTC()
	o.platforms = strings.Split(platforms, ",")
	return o, nil
}

func (o *options) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.source":      o.source,
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.revision":    o.commit,
		"org.opencontainers.image.licenses":    o.licenses,
		"org.opencontainers.image.title":       "idpgate",
		"org.opencontainers.image.description": "token-validating API gateway configured by the idpgate Terraform provider",
		"org.opencontainers.image.created":     o.epoch.Format(time.RFC3339),
	}
}

// run builds the image and writes the layout; it returns the index's digest.
func run(ctx context.Context, o *options) (v1.Hash, error) {
	repo, err := filepath.Abs(o.repo)
	if err != nil {
		return v1.Hash{}, err
	}
	base, err := baseIndex(o)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("base image: %w", err)
	}
	baseRef, err := name.ParseReference(baseName)
	if err != nil {
		return v1.Hash{}, err
	}
	created := v1.Time{Time: o.epoch}
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", o.version, o.commit)
	opts := []build.Option{
		build.WithBaseImages(func(context.Context, string) (name.Reference, build.Result, error) {
			return baseRef, base, nil
		}),
		build.WithPlatforms(o.platforms...),
		build.WithCreationTime(created),
		build.WithKoDataCreationTime(created),
		build.WithTrimpath(true),
		// goreleaser's kos makes the release's SBOM; an SBOM attached here would be an extra
		// artifact the layout does not carry.
		build.WithDisabledSBOM(),
		build.WithUser(fmt.Sprintf("%d:%d", NonRoot, NonRoot)),
		// WithTrimpath adds -trimpath; go build runs in -repo.
		build.WithConfig(map[string]build.Config{ImportPath: {
			ID:      "idpgate",
			Ldflags: build.StringArray{ldflags},
			// After the caller's environment: a CGO_ENABLED=1 there cannot make it dynamic.
			Env: []string{"CGO_ENABLED=0"},
		}}),
	}
	for k, v := range o.labels() {
		opts = append(opts, build.WithLabel(k, v), build.WithAnnotation(k, v))
	}
	b, err := build.NewGo(ctx, repo, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	res, err := b.Build(ctx, build.StrictScheme+ImportPath)
	if err != nil {
		return v1.Hash{}, err
	}
	idx, ok := res.(v1.ImageIndex)
	if !ok {
		return v1.Hash{}, fmt.Errorf("ko built a %T, want an image index", res)
	}
	if err := os.RemoveAll(o.out); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(o.out, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.version,
	})); err != nil {
		return v1.Hash{}, err
	}
	return idx.Digest()
}

// baseIndex is the base for every platform: an empty image with one layer (baseLayer) and
// a config that names the non-root user and the CA bundle.
func baseIndex(o *options) (v1.ImageIndex, error) {
	layer, err := baseLayer(o)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range o.platforms {
		osName, arch, ok := strings.Cut(pl, "/")
		if !ok {
			return nil, fmt.Errorf("platform %q is not os/arch", pl)
		}
		img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
			Layer: layer,
			History: v1.History{Created: v1.Time{Time: o.epoch}, CreatedBy: "idpgate-image",
				Comment: "CA certificates, /etc/passwd and /etc/group with nonroot (65532)"},
		})
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = osName, arch
		cf.Created = v1.Time{Time: o.epoch}
		cf.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
		cf.Config.WorkingDir = "/home/nonroot"
		cf.Config.Env = []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	return idx, nil
}

// baseLayer is a tar of /etc/ssl/certs/ca-certificates.crt, /etc/passwd, /etc/group,
// /home/nonroot and /tmp: no shell, no other program.
func baseLayer(o *options) (v1.Layer, error) {
	ca, err := os.ReadFile(o.caBundle)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w (Debian's ca-certificates package provides it)", err)
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"+
		"nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot)
	group := fmt.Sprintf("root:x:0:\nnobody:x:65534:\nnonroot:x:%d:\n", NonRoot)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid, ModTime: o.epoch})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: o.epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	dir("etc/", 0o755, 0)
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return nil, err
	}
	dir("etc/ssl/", 0o755, 0)
	dir("etc/ssl/certs/", 0o755, 0)
	if err := file("etc/ssl/certs/ca-certificates.crt", 0o644, ca); err != nil {
		return nil, err
	}
	dir("home/", 0o755, 0)
	dir("home/nonroot/", 0o700, NonRoot)
	dir("tmp/", 0o1777, 0)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

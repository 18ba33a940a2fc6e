package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// imageLayoutEnv names the OCI layout to check instead of the default.
	imageLayoutEnv = "FLOWENROLL_IMAGE_OCI"
	// requireImageEnv, set by .ci/run, turns a missing layout into a failure:
	// CI builds it, so a skip there would hide a broken build.
	requireImageEnv = "FLOWENROLL_REQUIRE_IMAGE"
	// imageUser is the image's USER: numeric, so that the kubelet can check
	// runAsNonRoot, and the runAsUser/fsGroup of the manifests in jobs/.
	imageUser = "65532:65532"
	// imageBinary is the image's ENTRYPOINT.
	imageBinary = "/flowenroll"
	// caBundle is where Go's crypto/x509 looks first on Linux.
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
)

// imageFile is a file of the image's file system, after all layers.
type imageFile struct {
	typeflag byte
	mode     fs.FileMode
	uid, gid int
	data     []byte // regular files only
}

// ociImage is the image an OCI layout's index names, read and verified.
type ociImage struct {
	config ocispec.Image
	files  map[string]imageFile // by absolute path
}

// TestImage checks the container image that scripts/image.sh builds (buildah,
// in CI) as the Dockerfile describes it: from scratch, a static binary as the
// entrypoint, a CA bundle for Gong's https API, a numeric non-root user. It
// reads the OCI layout with no container engine, and runs the binary taken
// out of the image's layer.
func TestImage(t *testing.T) {
	t.Parallel()
	dir := imageLayoutDir(t)
	img := readOCIImage(t, dir)
	t.Run("config", func(t *testing.T) { checkImageConfig(t, img.config) })
	t.Run("files", func(t *testing.T) { checkImageFiles(t, img.files) })

	binPath := filepath.Join(t.TempDir(), "flowenroll")
	if err := os.WriteFile(binPath, img.files[imageBinary].data, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("binary is static", func(t *testing.T) { checkStatic(t, binPath) })
	t.Run("binary prints its version", func(t *testing.T) { checkVersion(t, binPath, img.config) })
}

func checkImageConfig(t *testing.T, c ocispec.Image) {
	if c.OS != "linux" || c.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", c.OS, c.Architecture, runtime.GOARCH)
	}
	if c.Config.User != imageUser {
		t.Errorf("User %q, want %q: numeric and not root, as the manifests' runAsUser", c.Config.User, imageUser)
	}
	if uid, err := strconv.Atoi(strings.SplitN(c.Config.User, ":", 2)[0]); err != nil || uid == 0 {
		t.Errorf("User %q is root or not numeric: runAsNonRoot cannot be checked against a name", c.Config.User)
	}
	if diff := cmp.Diff([]string{imageBinary}, c.Config.Entrypoint); diff != "" {
		t.Errorf("Entrypoint (-want +got):\n%s", diff)
	}
	if len(c.Config.Cmd) > 0 {
		t.Errorf("Cmd %q: the manifests give the arguments; the image has no default run", c.Config.Cmd)
	}
	for _, e := range c.Config.Env {
		if strings.HasPrefix(e, "FLOWENROLL_") || strings.HasPrefix(e, "GONG_") {
			t.Errorf("Env %q baked into the image: settings come from the manifests", e)
		}
	}
}

func checkImageFiles(t *testing.T, files map[string]imageFile) {
	bin, ok := files[imageBinary]
	switch {
	case !ok:
		t.Fatalf("no %s in the image", imageBinary)
	case bin.typeflag != tar.TypeReg:
		t.Errorf("%s is not a regular file (type %q)", imageBinary, bin.typeflag)
	case bin.mode&0o111 != 0o111 || bin.mode&0o022 != 0:
		t.Errorf("%s has mode %v, want 0755", imageBinary, bin.mode)
	}
	ca, ok := files[caBundle]
	if !ok {
		t.Fatalf("no CA bundle at %s: https to Gong would fail with an unknown authority", caBundle)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca.data) {
		t.Errorf("%s holds no PEM certificate", caBundle)
	}
	if ca.mode&0o004 == 0 {
		t.Errorf("%s has mode %v: user 65532 cannot read it", caBundle, ca.mode)
	}
	for _, p := range []string{"/bin/sh", "/usr/bin/env"} {
		if _, ok := files[p]; ok {
			t.Errorf("%s in the image: it is meant to be built from scratch", p)
		}
	}
	// The process runs as 65532: it must not be able to change the image's
	// files (the manifests also mount the root file system read-only).
	for p, f := range files {
		if f.typeflag == tar.TypeReg && (f.uid != 0 || f.mode&0o022 != 0) {
			t.Errorf("%s: owner %d:%d, mode %v; want root's, writable by root only", p, f.uid, f.gid, f.mode)
		}
	}
}

// checkStatic: a scratch image has no dynamic loader and no libc.
func checkStatic(t *testing.T, binPath string) {
	f, err := elf.Open(binPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader, which a scratch image lacks: build it with CGO_ENABLED=0")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %q (%v)", libs, err)
	}
}

// checkVersion runs the binary as the image would, with an empty
// environment, and compares its version with the image's label.
func checkVersion(t *testing.T, binPath string, c ocispec.Image) {
	cmd := exec.Command(binPath, "--version")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("flowenroll --version: %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	m := regexp.MustCompile(`^flowenroll (\S+)\n$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("flowenroll --version printed %q, want \"flowenroll <version>\\n\"", stdout.String())
	}
	if want, ok := c.Config.Labels[ocispec.AnnotationVersion]; ok && m[1] != want {
		t.Errorf("the binary says version %q, the image's label %s says %q", m[1], ocispec.AnnotationVersion, want)
	}
}

// imageLayoutDir is the OCI layout to check: $FLOWENROLL_IMAGE_OCI, or
// bin/image-oci of the module, where scripts/image.sh writes it.
func imageLayoutDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(imageLayoutEnv)
	if dir == "" {
		dir = filepath.Join("..", "bin", "image-oci")
	}
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); err != nil {
		msg := fmt.Sprintf("no OCI image layout at %s (%v): run scripts/image.sh (or make image-oci) to build the image, then this test checks it", dir, err)
		if os.Getenv(requireImageEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// readOCIImage reads the one image of the layout dir for linux/GOARCH,
// checking every blob's digest and size and every layer's diff ID, and
// applies its layers in order.
func readOCIImage(t *testing.T, dir string) ociImage {
	t.Helper()
	var layout ocispec.ImageLayout
	readJSON(t, filepath.Join(dir, ocispec.ImageLayoutFile), &layout)
	if layout.Version != ocispec.ImageLayoutVersion {
		t.Fatalf("%s: imageLayoutVersion %q, want %q", ocispec.ImageLayoutFile, layout.Version, ocispec.ImageLayoutVersion)
	}
	var index ocispec.Index
	readJSON(t, filepath.Join(dir, ocispec.ImageIndexFile), &index)
	desc := pickManifest(t, dir, index)

	var manifest ocispec.Manifest
	if err := json.Unmarshal(readBlob(t, dir, desc), &manifest); err != nil {
		t.Fatalf("manifest %s: %v", desc.Digest, err)
	}
	if manifest.Config.MediaType != ocispec.MediaTypeImageConfig {
		t.Fatalf("config media type %q, want %q", manifest.Config.MediaType, ocispec.MediaTypeImageConfig)
	}
	var img ociImage
	if err := json.Unmarshal(readBlob(t, dir, manifest.Config), &img.config); err != nil {
		t.Fatalf("config %s: %v", manifest.Config.Digest, err)
	}
	if got, want := len(img.config.RootFS.DiffIDs), len(manifest.Layers); got != want {
		t.Fatalf("the config lists %d diff IDs for %d layers", got, want)
	}
	img.files = map[string]imageFile{}
	for i, l := range manifest.Layers {
		tarball, err := uncompress(l.MediaType, readBlob(t, dir, l))
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
		if got, want := digest.FromBytes(tarball), img.config.RootFS.DiffIDs[i]; got != want {
			t.Fatalf("layer %d: uncompressed digest %s, the config's diff ID %s", i, got, want)
		}
		if err := applyLayer(img.files, tarball); err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
	}
	return img
}

// pickManifest follows the index (and any nested index, as docker buildx
// writes) to the manifest for linux/GOARCH, or the only one there is.
func pickManifest(t *testing.T, dir string, index ocispec.Index) ocispec.Descriptor {
	t.Helper()
	var found []ocispec.Descriptor
	for _, d := range index.Manifests {
		switch d.MediaType {
		case ocispec.MediaTypeImageIndex:
			var nested ocispec.Index
			if err := json.Unmarshal(readBlob(t, dir, d), &nested); err != nil {
				t.Fatalf("index %s: %v", d.Digest, err)
			}
			found = append(found, pickManifest(t, dir, nested))
		case ocispec.MediaTypeImageManifest:
			if d.Platform == nil || (d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH) {
				found = append(found, d)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d image manifests for linux/%s in the layout, want 1: %+v", len(found), runtime.GOARCH, index.Manifests)
	}
	return found[0]
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// readBlob reads the blob d names, and checks its size and digest.
func readBlob(t *testing.T, dir string, d ocispec.Descriptor) []byte {
	t.Helper()
	if err := d.Digest.Validate(); err != nil {
		t.Fatalf("descriptor %+v: %v", d, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ocispec.ImageBlobsDir, d.Digest.Algorithm().String(), d.Digest.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != d.Size {
		t.Fatalf("blob %s: %d bytes, the descriptor says %d", d.Digest, len(data), d.Size)
	}
	if !d.Digest.Algorithm().Available() {
		t.Fatalf("blob %s: digest algorithm not available", d.Digest)
	}
	if got := d.Digest.Algorithm().FromBytes(data); got != d.Digest {
		t.Fatalf("blob %s: its content has digest %s", d.Digest, got)
	}
	return data
}

// uncompress returns a layer as a tar stream.
func uncompress(mediaType string, blob []byte) ([]byte, error) {
	switch mediaType {
	case ocispec.MediaTypeImageLayer, "application/vnd.docker.image.rootfs.diff.tar":
		return blob, nil
	case ocispec.MediaTypeImageLayerGzip, "application/vnd.docker.image.rootfs.diff.tar.gzip":
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("layer media type %q is not one this test reads", mediaType)
}

// applyLayer applies one layer's tar stream to files, whiteouts included.
func applyLayer(files map[string]imageFile, tarball []byte) error {
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + h.Name)
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq":
			for p := range files {
				if strings.HasPrefix(p, dir) {
					delete(files, p)
				}
			}
			continue
		case strings.HasPrefix(base, ".wh."):
			gone := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			for p := range files {
				if p == gone || strings.HasPrefix(p, gone+"/") {
					delete(files, p)
				}
			}
			continue
		}
		f := imageFile{typeflag: h.Typeflag, mode: fs.FileMode(h.Mode).Perm(), uid: h.Uid, gid: h.Gid}
		if h.Typeflag == tar.TypeReg {
			if f.data, err = io.ReadAll(tr); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		files[name] = f
	}
}

// Package build stages invocation images: it lays a bundle's files out as
// Porter does (/cnab/app/run, /cnab/app/porter.yaml, /cnab/app/mixins/...),
// computes the bundle's content digest for the up-to-date check and writes
// the tar build contexts that the Docker adapter builds. It imports no Docker
// or cnab-go code.
package build

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Image layout and user, as Porter lays out bundle images.
const (
	AppDir     = "/cnab/app"
	BinaryPath = "/usr/local/bin/stackhub"
	UID        = 65532
	GID        = 0
	User       = "nonroot"
)

// Links are the in-image entry points that all resolve to the one static
// StackHub binary, which dispatches on the name it was called by.
var Links = []string{
	"cnab/app/run",
	"cnab/app/runtimes/porter-runtime",
	"cnab/app/mixins/stackhub/stackhub",
	"cnab/app/mixins/stackhub/runtimes/stackhub-runtime",
	"cnab/app/mixins/exec/exec",
	"cnab/app/mixins/exec/runtimes/exec-runtime",
}

// skipDirs are never part of a bundle's content.
var skipDirs = map[string]bool{".cnab": true, ".git": true, "node_modules": true, ".porter": true, "vendor": true}

// epoch is the fixed modification time of staged files, so that identical
// inputs give identical contexts.
var epoch = time.Unix(0, 0)

// FileDigest returns the sha256 of a file, hex encoded.
func FileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BundleFiles lists the regular files of a bundle folder, sorted, skipping
// hidden build folders.
func BundleFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && skipDirs[d.Name()] {
				return fs.SkipDir
			}
			if d.Name() == "porter" && p != "." && path.Dir(p) == "." {
				return fmt.Errorf("a file or folder named %q collides with /cnab/app/porter/outputs: rename it", p)
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bundle files: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// Digest hashes everything that goes into a bundle image: the bundle's files
// (content and executable bit), the runtime binary's digest and any extra
// inputs (StackHub's version, the base image). An unchanged digest means the
// image need not be rebuilt.
func Digest(fsys fs.FS, extra ...string) (string, error) {
	files, err := BundleFiles(fsys)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range extra {
		fmt.Fprintf(h, "extra:%s\n", e)
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", f, err)
		}
		exec := false
		if fi, err := fs.Stat(fsys, f); err == nil {
			exec = fi.Mode()&0o111 != 0
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "file:%s:%x:%t\n", f, sum, exec)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// BaseContext is the build context of the shared base image: FROM scratch
// with the static StackHub binary, the Porter layout's entry points as
// symlinks to it, a passwd entry for the non-root user and a writable /tmp.
func BaseContext(binary string) (io.Reader, error) {
	return RuntimeContext(binary, "")
}

// RuntimeContext is the build context of a shared runtime image: the static
// StackHub binary and the Porter layout's entry points on from. An empty
// from means scratch (bundles that use only the stackhub mixin); otherwise
// from is a Debian image (bundles that use exec, which needs a shell), and
// the non-root user is made with Porter's PORTER_INIT lines.
func RuntimeContext(binary, from string) (io.Reader, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read runtime binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	w := &tarWriter{tw: tw}
	w.file("Dockerfile", []byte(RuntimeDockerfile(from)), 0o644, 0, 0)
	dirs := []string{"rootfs", "rootfs/usr", "rootfs/usr/local", "rootfs/usr/local/bin"}
	if from == "" {
		dirs = append(dirs, "rootfs/etc")
	}
	for _, d := range dirs {
		w.dir(d, 0o755, 0, 0)
	}
	if from == "" {
		w.dir("rootfs/tmp", 0o1777, 0, 0)
		w.dir("rootfs/home", 0o755, 0, 0)
		w.dir("rootfs/home/"+User, 0o775, UID, GID)
	}
	for _, d := range []string{"rootfs/cnab", "rootfs/cnab/app", "rootfs/cnab/app/runtimes", "rootfs/cnab/app/mixins",
		"rootfs/cnab/app/mixins/stackhub", "rootfs/cnab/app/mixins/stackhub/runtimes",
		"rootfs/cnab/app/mixins/exec", "rootfs/cnab/app/mixins/exec/runtimes", "rootfs/cnab/app/outputs",
		"rootfs/cnab/app/porter", "rootfs/cnab/app/porter/outputs"} {
		w.dir(d, 0o775, UID, GID)
	}
	if from == "" {
		w.file("rootfs/etc/passwd", []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", User, UID, GID, User, User)), 0o644, 0, 0)
		w.file("rootfs/etc/group", []byte("root:x:0:\n"), 0o644, 0, 0)
	}
	w.file("rootfs"+BinaryPath, bin, 0o755, 0, 0)
	for _, l := range Links {
		w.link("rootfs/"+l, BinaryPath)
	}
	if w.err != nil {
		return nil, fmt.Errorf("stage base image: %w", w.err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("stage base image: %w", err)
	}
	return &buf, nil
}

// RuntimeDockerfile is the Dockerfile of a shared runtime image (see
// RuntimeContext).
func RuntimeDockerfile(from string) string {
	var lines []string
	if from == "" {
		lines = []string{"FROM scratch", "COPY rootfs/ /"}
	} else {
		lines = append([]string{"FROM " + from}, InitLines()...)
		lines = append(lines, "COPY rootfs/ /")
	}
	lines = append(lines,
		fmt.Sprintf("USER %d:%d", UID, GID),
		"WORKDIR "+AppDir,
	)
	if from == "" {
		lines = append(lines, "ENV HOME=/home/"+User+" PATH=/usr/local/bin:/cnab/app")
	} else {
		lines = append(lines, "ENV HOME=/home/"+User)
	}
	lines = append(lines, `CMD ["/cnab/app/run"]`, "")
	return strings.Join(lines, "\n")
}

// BundleContextOptions describes one bundle image.
type BundleContextOptions struct {
	// Base is the image the bundle layer goes on.
	Base string
	// Files is the bundle folder.
	Files fs.FS
	// Manifest is the canonical porter.yaml placed at /cnab/app/porter.yaml.
	Manifest []byte
	// BundleJSON is placed at /cnab/bundle.json.
	BundleJSON []byte
}

// BundleContext is the build context of one bundle's image: its files under
// /cnab/app (less what .dockerignore excludes), the canonical manifest and
// bundle.json, as one layer on Base.
func BundleContext(opts BundleContextOptions) (io.Reader, error) {
	files, err := contextFiles(opts.Files)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	w := &tarWriter{tw: tw}
	dockerfile := strings.Join([]string{
		"FROM " + opts.Base,
		fmt.Sprintf("COPY --chown=%d:%d cnab/ /cnab/", UID, GID),
		"",
	}, "\n")
	w.file("Dockerfile", []byte(dockerfile), 0o644, 0, 0)
	w.dir("cnab", 0o775, UID, GID)
	w.dir("cnab/app", 0o775, UID, GID)
	made := map[string]bool{"cnab": true, "cnab/app": true}
	for _, f := range files {
		if f == "porter.yaml" {
			continue // replaced by the canonical manifest
		}
		data, err := fs.ReadFile(opts.Files, f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		mode := int64(0o664)
		if fi, err := fs.Stat(opts.Files, f); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o775
		}
		var dirs []string
		for dir := path.Dir(f); dir != "."; dir = path.Dir(dir) {
			dirs = append([]string{dir}, dirs...)
		}
		for _, d := range dirs {
			if full := "cnab/app/" + d; !made[full] {
				made[full] = true
				w.dir(full, 0o775, UID, GID)
			}
		}
		w.file("cnab/app/"+f, data, mode, UID, GID)
	}
	w.file("cnab/app/porter.yaml", opts.Manifest, 0o664, UID, GID)
	w.file("cnab/bundle.json", opts.BundleJSON, 0o664, UID, GID)
	if w.err != nil {
		return nil, fmt.Errorf("stage bundle image: %w", w.err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("stage bundle image: %w", err)
	}
	return &buf, nil
}

// contextFiles lists the bundle files that go into an image: BundleFiles
// less what .dockerignore excludes.
func contextFiles(fsys fs.FS) ([]string, error) {
	files, err := BundleFiles(fsys)
	if err != nil {
		return nil, err
	}
	ig, err := LoadIgnore(fsys)
	if err != nil {
		return nil, err
	}
	kept := files[:0]
	for _, f := range files {
		if !ig.Excluded(f) {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

type tarWriter struct {
	tw  *tar.Writer
	err error
}

func (w *tarWriter) header(h *tar.Header) {
	if w.err != nil {
		return
	}
	h.ModTime = epoch
	h.Format = tar.FormatPAX
	w.err = w.tw.WriteHeader(h)
}

func (w *tarWriter) dir(name string, mode int64, uid, gid int) {
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: gid})
}

func (w *tarWriter) file(name string, data []byte, mode int64, uid, gid int) {
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), Uid: uid, Gid: gid})
	if w.err == nil {
		_, w.err = w.tw.Write(data)
	}
}

func (w *tarWriter) link(name, target string) {
	w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

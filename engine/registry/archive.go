package registry

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	cremotes "github.com/containerd/containerd/v2/core/remotes"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stackhub/stackhub/engine"
)

// Archive layout (porter-compat.md 8.3).
const (
	archiveBundle     = "bundle.json"
	archiveRelocation = "relocation-mapping.json"
	archiveLayout     = "artifacts/layout"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// archiveFile is one regular file of an archive: Data, or the file at Path.
type archiveFile struct {
	Name string
	Data []byte
	Path string
}

// writeTGZ writes files as a deterministic .tgz: entries sorted, parent
// folders added, mtimes zeroed, no owners, modes 0755 and 0644, and a gzip
// header without name or time. The same files give the same bytes.
func writeTGZ(w io.Writer, level int, files []archiveFile) error {
	gz, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	tw := tar.NewWriter(gz)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	dirs := map[string]bool{}
	var addDirs func(dir string) error
	addDirs = func(dir string) error {
		if dir == "." || dir == "" || dirs[dir] {
			return nil
		}
		if err := addDirs(path.Dir(dir)); err != nil {
			return err
		}
		dirs[dir] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, Format: tar.FormatPAX})
	}
	for _, f := range files {
		if err := addDirs(path.Dir(f.Name)); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
		var r io.Reader
		size := int64(len(f.Data))
		if f.Path != "" {
			fh, err := os.Open(f.Path)
			if err != nil {
				return fmt.Errorf("write archive: %w", err)
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				return fmt.Errorf("write archive: %w", err)
			}
			r, size = fh, st.Size()
		} else {
			r = strings.NewReader(string(f.Data))
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: 0o644, Size: size, Format: tar.FormatPAX}); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("write archive %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// layout is an OCI image layout being written to or read from dir.
type layout struct {
	dir   string
	index ocispec.Index
}

func (l *layout) blobPath(d digest.Digest) string {
	return filepath.Join(l.dir, "blobs", d.Algorithm().String(), d.Encoded())
}

// fetch copies desc from the registry into the layout, checking its digest,
// and returns its bytes when it is a manifest or an index.
func (l *layout) fetch(ctx context.Context, f cremotes.Fetcher, desc ocispec.Descriptor) ([]byte, error) {
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	p := l.blobPath(desc.Digest)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	out, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	v := desc.Digest.Verifier()
	if _, err := io.Copy(io.MultiWriter(out, v), rc); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", desc.Digest, err)
	}
	if !v.Verified() {
		return nil, fmt.Errorf("fetch %s: content does not match its digest", desc.Digest)
	}
	if isManifest(desc.MediaType) || isIndex(desc.MediaType) {
		return os.ReadFile(p)
	}
	return nil, nil
}

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func isManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == "application/vnd.docker.distribution.manifest.v2+json"
}

// copyImage copies an image (manifest or index, and everything under it)
// from the registry into the layout.
func (l *layout) copyImage(ctx context.Context, f cremotes.Fetcher, desc ocispec.Descriptor) error {
	data, err := l.fetch(ctx, f, desc)
	if err != nil {
		return err
	}
	var doc struct {
		Config    ocispec.Descriptor   `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Manifests []ocispec.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("read manifest %s: %w", desc.Digest, err)
	}
	for _, m := range doc.Manifests {
		if err := l.copyImage(ctx, f, m); err != nil {
			return err
		}
	}
	if isManifest(desc.MediaType) {
		for _, b := range append([]ocispec.Descriptor{doc.Config}, doc.Layers...) {
			if _, err := l.fetch(ctx, f, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteArchive writes b and every image it references, fetched from their
// relocated locations by digest, as a thick archive.
//
// The layout is built from registry blobs rather than from `docker save`:
// blobs keep the digests bundle.json and the relocation map pin (a saved
// image has other, uncompressed layer digests), the archive needs no local
// copy of the images, and content-addressed blobs make it reproducible.
func (c *Client) WriteArchive(ctx context.Context, w io.Writer, b *engine.RemoteBundle, opts engine.ArchiveWriteOptions) error {
	ctx = quiet(ctx)
	bun, err := readBundle(b.BundleJSON)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "stackhub-archive-")
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	defer os.RemoveAll(tmp)
	l := &layout{dir: tmp, index: ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}}
	l.index.SchemaVersion = 2
	originals := []string{}
	for _, ii := range bun.InvocationImages {
		originals = append(originals, ii.Image)
	}
	for _, name := range sortedKeys(bun.Images) {
		originals = append(originals, bun.Images[name].Image)
	}
	resolver := c.resolver(opts.Insecure, imageRefs(bun, b.Relocation)...)
	seen := map[string]bool{}
	for _, orig := range originals {
		if seen[orig] {
			continue
		}
		seen[orig] = true
		src := orig
		if r, ok := b.Relocation[orig]; ok {
			src = r
		}
		named, err := parseRef(src)
		if err != nil {
			return err
		}
		_, desc, err := resolver.Resolve(ctx, named.String())
		if err != nil {
			return fmt.Errorf("resolve image %s: %w", src, unreachable(err, src))
		}
		f, err := resolver.Fetcher(ctx, named.String())
		if err != nil {
			return fmt.Errorf("fetch image %s: %w", src, err)
		}
		if err := l.copyImage(ctx, f, desc); err != nil {
			return fmt.Errorf("fetch image %s: %w", src, err)
		}
		desc.Annotations = map[string]string{ocispec.AnnotationRefName: orig}
		desc.URLs = nil
		l.index.Manifests = append(l.index.Manifests, desc)
	}
	if opts.AppImages {
		if len(l.index.Manifests) == 0 {
			return errors.New("write archive: the bundle has no invocation image")
		}
		if err := c.addAppImages(ctx, l, l.index.Manifests[0], opts); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
	}
	indexJSON, err := json.Marshal(l.index)
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	reloc, err := json.Marshal(b.Relocation)
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	files := []archiveFile{
		{Name: archiveBundle, Data: b.BundleJSON},
		{Name: archiveRelocation, Data: reloc},
		{Name: archiveLayout + "/oci-layout", Data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{Name: archiveLayout + "/index.json", Data: indexJSON},
	}
	err = filepath.WalkDir(filepath.Join(tmp, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(tmp, p)
		if err != nil {
			return err
		}
		files = append(files, archiveFile{Name: archiveLayout + "/" + filepath.ToSlash(rel), Path: p})
		return nil
	})
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return writeTGZ(w, opts.Level, files)
}

// extract unpacks an archive into a new temporary folder.
func extract(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("archive %s cannot be opened: %v", file, err), "")
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("%s is not a bundle archive: %v", file, err), "create one with stackhub bundle archive")
	}
	dir, err := os.MkdirTemp("", "stackhub-archive-")
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir, nil
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("read archive %s: %w", file, err)
		}
		name := path.Clean(h.Name)
		if name == ".." || strings.HasPrefix(name, "../") || path.IsAbs(name) || strings.Contains(h.Name, "\\") {
			os.RemoveAll(dir)
			return "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("%s is not a bundle archive: entry %q points outside the archive", file, h.Name),
				"refusing the whole archive; create it again with stackhub bundle archive")
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				os.RemoveAll(dir)
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				os.RemoveAll(dir)
				return "", err
			}
			out, err := os.Create(target)
			if err != nil {
				os.RemoveAll(dir)
				return "", err
			}
			_, err = io.Copy(out, tr)
			out.Close()
			if err != nil {
				os.RemoveAll(dir)
				return "", fmt.Errorf("read archive %s: %w", file, err)
			}
		}
	}
}

func readExtracted(dir string) (*engine.RemoteBundle, *layout, error) {
	data, err := os.ReadFile(filepath.Join(dir, archiveBundle))
	if err != nil {
		return nil, nil, engine.NewUserError(engine.ErrInvalid, "the archive holds no bundle.json", "create it with stackhub bundle archive")
	}
	b := &engine.RemoteBundle{BundleJSON: data, Relocation: map[string]string{}}
	if raw, err := os.ReadFile(filepath.Join(dir, archiveRelocation)); err == nil {
		if err := json.Unmarshal(raw, &b.Relocation); err != nil {
			return nil, nil, fmt.Errorf("read relocation-mapping.json: %w", err)
		}
	}
	l := &layout{dir: filepath.Join(dir, filepath.FromSlash(archiveLayout))}
	raw, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if err != nil {
		return nil, nil, engine.NewUserError(engine.ErrInvalid, "the archive holds no OCI layout", "create it with stackhub bundle archive")
	}
	if err := json.Unmarshal(raw, &l.index); err != nil {
		return nil, nil, fmt.Errorf("read index.json: %w", err)
	}
	return b, l, nil
}

// ReadArchive returns the bundle of an archive file.
func (c *Client) ReadArchive(ctx context.Context, file string) (*engine.RemoteBundle, error) {
	dir, err := extract(file)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b, _, err := readExtracted(dir)
	return b, err
}

// dockerManifest is one entry of a `docker save` manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// LoadArchive loads every image of the archive into the daemon. Docker 20.10
// cannot load an OCI layout, so each image manifest becomes a `docker save`
// manifest.json entry over the same blobs (gzip layers load as they are);
// the config blob keeps the image ID. tags names images by manifest digest;
// images are also tagged with their original name when it has a tag.
func (c *Client) LoadArchive(ctx context.Context, file string, tags map[string]string) error {
	dir, err := extract(file)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	_, l, err := readExtracted(dir)
	if err != nil {
		return err
	}
	var entries []dockerManifest
	var files []archiveFile
	for _, desc := range l.index.Manifests {
		if !isManifest(desc.MediaType) {
			c.log.Warn("skipping multi-platform image: only single-platform images load offline", "digest", desc.Digest)
			continue
		}
		raw, err := os.ReadFile(l.blobPath(desc.Digest))
		if err != nil {
			return fmt.Errorf("read manifest %s: %w", desc.Digest, err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("read manifest %s: %w", desc.Digest, err)
		}
		e := dockerManifest{Config: "blobs/sha256/" + m.Config.Digest.Encoded()}
		files = append(files, archiveFile{Name: e.Config, Path: l.blobPath(m.Config.Digest)})
		for _, ly := range m.Layers {
			name := "blobs/sha256/" + ly.Digest.Encoded()
			e.Layers = append(e.Layers, name)
			files = append(files, archiveFile{Name: name, Path: l.blobPath(ly.Digest)})
		}
		if t, ok := tags[desc.Digest.String()]; ok {
			e.RepoTags = append(e.RepoTags, t)
		}
		if orig := desc.Annotations[ocispec.AnnotationRefName]; orig != "" && !strings.Contains(orig, "@") {
			if named, err := parseRef(orig); err == nil {
				e.RepoTags = append(e.RepoTags, named.String())
			}
		}
		entries = append(entries, e)
	}
	mj, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("load archive: %w", err)
	}
	files = append(files, archiveFile{Name: "manifest.json", Data: mj})
	files = uniqueFiles(files)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, files)) }()
	res, err := c.api.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("load images: %w", err)
	}
	defer res.Close()
	out, err := io.ReadAll(res)
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var msg struct {
			Error string `json:"error"`
		}
		if dec.Decode(&msg) != nil {
			break
		}
		if msg.Error != "" {
			return fmt.Errorf("load images: %s", msg.Error)
		}
	}
	return nil
}

func uniqueFiles(files []archiveFile) []archiveFile {
	seen := map[string]bool{}
	out := files[:0]
	for _, f := range files {
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	return out
}

// writeTar writes files as a plain tar (the docker load stream).
func writeTar(w io.Writer, files []archiveFile) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		var r io.Reader = strings.NewReader(string(f.Data))
		size := int64(len(f.Data))
		if f.Path != "" {
			fh, err := os.Open(f.Path)
			if err != nil {
				return err
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				return err
			}
			r, size = fh, st.Size()
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		if _, err := io.Copy(tw, r); err != nil {
			return err
		}
	}
	return tw.Close()
}

// PushArchive pushes every image of the archive into ref's repository by
// digest (blobs, then manifests) and returns the archive's bundle with its
// relocation map pointing at the pushed images.
func (c *Client) PushArchive(ctx context.Context, file, ref string, insecure bool) (*engine.RemoteBundle, error) {
	ctx = quiet(ctx)
	named, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	dir, err := extract(file)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b, l, err := readExtracted(dir)
	if err != nil {
		return nil, err
	}
	resolver := c.resolver(insecure, ref)
	repo := named.Name()
	for _, desc := range l.index.Manifests {
		target := repo + "@" + desc.Digest.String()
		pusher, err := resolver.Pusher(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", target, err)
		}
		if err := l.push(ctx, pusher, desc); err != nil {
			return nil, fmt.Errorf("push %s: %w", target, unreachable(err, target))
		}
		if orig := desc.Annotations[ocispec.AnnotationRefName]; orig != "" {
			b.Relocation[orig] = target
		}
	}
	b.Reference = ref
	return b, nil
}

// push uploads desc and everything under it, children first.
func (l *layout) push(ctx context.Context, p cremotes.Pusher, desc ocispec.Descriptor) error {
	if isManifest(desc.MediaType) || isIndex(desc.MediaType) {
		raw, err := os.ReadFile(l.blobPath(desc.Digest))
		if err != nil {
			return err
		}
		var doc struct {
			Config    ocispec.Descriptor   `json:"config"`
			Layers    []ocispec.Descriptor `json:"layers"`
			Manifests []ocispec.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return err
		}
		children := doc.Manifests
		if isManifest(desc.MediaType) {
			children = append([]ocispec.Descriptor{doc.Config}, doc.Layers...)
		}
		for _, ch := range children {
			if err := l.push(ctx, p, ch); err != nil {
				return err
			}
		}
	}
	cw, err := p.Push(ctx, ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size})
	if cerrdefs.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer cw.Close()
	f, err := os.Open(l.blobPath(desc.Digest))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(cw, f); err != nil {
		return err
	}
	if err := cw.Commit(ctx, desc.Size, desc.Digest); err != nil && !cerrdefs.IsAlreadyExists(err) {
		return err
	}
	return nil
}

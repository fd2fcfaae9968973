package registry

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/mirror"
)

// AnnotationAppImage marks the app images of an archive (as opposed to the
// images bundle.json names).
const AnnotationAppImage = "sh.stackhub.app-image"

// addAppImages reads the compose files from the invocation image in the
// layout (inv), and adds every image they name, saved from the Docker
// daemon, to the layout.
func (c *Client) addAppImages(ctx context.Context, l *layout, inv ocispec.Descriptor, opts engine.ArchiveWriteOptions) error {
	want := map[string]bool{}
	for _, f := range opts.ComposeFiles {
		want[path.Clean(path.Join("cnab/app", f))] = true
	}
	files, err := l.readFiles(inv, want)
	if err != nil {
		return fmt.Errorf("read the compose files of the invocation image: %w", err)
	}
	set := map[string]bool{}
	for _, f := range opts.ComposeFiles {
		name := path.Clean(path.Join("cnab/app", f))
		data, ok := files[name]
		if !ok {
			return fmt.Errorf("compose file %s is not in the invocation image", f)
		}
		imgs, err := composeImages(data)
		if err != nil {
			return fmt.Errorf("compose file %s: %w", f, err)
		}
		for _, img := range imgs {
			set[img] = true
		}
	}
	mirrors, err := mirror.Parse(opts.Mirror)
	if err != nil {
		return err
	}
	refs := make([]string, 0, len(set))
	for r := range set {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		if err := c.ensureLocal(ctx, ref, mirrors); err != nil {
			return err
		}
		desc, err := c.saveImage(ctx, l, ref)
		if err != nil {
			return fmt.Errorf("add image %s: %w", ref, err)
		}
		named, err := parseRef(ref)
		if err != nil {
			return err
		}
		desc.Annotations = map[string]string{ocispec.AnnotationRefName: named.String(), AnnotationAppImage: "true"}
		l.index.Manifests = append(l.index.Manifests, desc)
		c.log.Info("app image archived", "image", ref, "manifest", desc.Digest)
	}
	return nil
}

// ensureLocal pulls ref into the daemon unless it is there, through its
// mirror first when one covers it.
func (c *Client) ensureLocal(ctx context.Context, ref string, mirrors mirror.Mirrors) error {
	if _, err := c.api.ImageInspect(ctx, ref); err == nil {
		return nil
	}
	if via, ok := mirrors.Rewrite(ref); ok {
		merr := c.PullImage(ctx, via, ref)
		if merr == nil {
			return nil
		}
		c.log.Warn("pulling from the registry mirror failed; trying the image's own registry", "image", ref, "mirror", via, "err", merr)
	}
	if err := c.PullImage(ctx, ref, ref); err != nil {
		return &engine.UserError{
			Msg:  fmt.Sprintf("app image %s is not on this host and cannot be pulled: %v", ref, err),
			Hint: "pull or load it on this host first (docker pull / docker load), or set registry-mirror; then archive again",
			Err:  err,
		}
	}
	return nil
}

// readFiles returns the files of an image's filesystem whose paths are in
// want (without a leading slash); later layers win, whiteouts are ignored.
func (l *layout) readFiles(desc ocispec.Descriptor, want map[string]bool) (map[string][]byte, error) {
	raw, err := os.ReadFile(l.blobPath(desc.Digest))
	if err != nil {
		return nil, err
	}
	if isIndex(desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(raw, &idx); err != nil || len(idx.Manifests) == 0 {
			return nil, fmt.Errorf("read index %s: %w", desc.Digest, err)
		}
		return l.readFiles(idx.Manifests[0], want)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", desc.Digest, err)
	}
	out := map[string][]byte{}
	for _, ly := range m.Layers {
		if err := l.scanLayer(ly, want, out); err != nil {
			return nil, fmt.Errorf("read layer %s: %w", ly.Digest, err)
		}
	}
	return out, nil
}

func (l *layout) scanLayer(ly ocispec.Descriptor, want map[string]bool, out map[string][]byte) error {
	f, err := os.Open(l.blobPath(ly.Digest))
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(ly.MediaType, "gzip") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if h.Typeflag != tar.TypeReg || !want[name] {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 4<<20))
		if err != nil {
			return err
		}
		out[name] = data
	}
}

// varRE matches compose interpolation: ${VAR}, ${VAR:-default},
// ${VAR-default} and $VAR.
var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// composeImages lists the images a compose file's services use, with
// interpolation defaults applied. An image that depends on a variable
// without a default cannot be known before install and is an error.
func composeImages(data []byte) ([]string, error) {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var out []string
	for _, name := range sortedKeys(doc.Services) {
		img := strings.ReplaceAll(doc.Services[name].Image, "$$", "\x00")
		if img == "" {
			continue
		}
		var bad string
		img = varRE.ReplaceAllStringFunc(img, func(m string) string {
			sub := varRE.FindStringSubmatch(m)
			if sub[2] != "" {
				return sub[3]
			}
			bad = m
			return m
		})
		if bad != "" {
			return nil, engine.NewUserError(engine.ErrInvalid,
				fmt.Sprintf("the image of service %s depends on %s, which has no default", name, bad),
				"give the variable a default in the compose file (${VAR:-value}) so that the archive knows which image to carry")
		}
		out = append(out, strings.ReplaceAll(img, "\x00", "$"))
	}
	return out, nil
}

// saveImage exports ref from the daemon (docker save) and writes it into
// the layout as an OCI image: the config blob (whose digest is the image
// ID) and uncompressed layers, so that docker load restores the same image.
func (c *Client) saveImage(ctx context.Context, l *layout, ref string) (ocispec.Descriptor, error) {
	rc, err := c.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("save: %w", err)
	}
	defer rc.Close()
	dir, err := os.MkdirTemp("", "stackhub-save-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.RemoveAll(dir)
	if err := untar(rc, dir); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("save: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("save: no manifest.json: %w", err)
	}
	var saved []dockerManifest
	if err := json.Unmarshal(raw, &saved); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("save: read manifest.json: %w", err)
	}
	if len(saved) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("save: manifest.json lists %d images, want 1", len(saved))
	}
	cfg, err := l.addBlob(filepath.Join(dir, filepath.FromSlash(saved[0].Config)), ocispec.MediaTypeImageConfig)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg}
	m.SchemaVersion = 2
	for _, ly := range saved[0].Layers {
		d, err := l.addBlob(filepath.Join(dir, filepath.FromSlash(ly)), ocispec.MediaTypeImageLayer)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		m.Layers = append(m.Layers, d)
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mj), Size: int64(len(mj))}
	p := l.blobPath(desc.Digest)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := os.WriteFile(p, mj, 0o644); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

// addBlob moves the file at src into the layout under its digest.
func (l *layout) addBlob(src, mediaType string) (ocispec.Descriptor, error) {
	f, err := os.Open(src)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
	p := l.blobPath(d)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return ocispec.Descriptor{}, err
	}
	if _, err := os.Stat(p); err != nil {
		if err := os.Rename(src, p); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: n}, nil
}

// untar unpacks the regular files of a tar stream into dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if strings.HasPrefix(name, "..") || path.IsAbs(name) {
			return fmt.Errorf("unsafe entry %q", h.Name)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		out.Close()
		if err != nil {
			return err
		}
	}
}

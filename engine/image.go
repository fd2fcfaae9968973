package engine

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/stackhub/stackhub/engine/build"
	"github.com/stackhub/stackhub/engine/manifest"
)

// Image labels.
const (
	LabelBundleDigest = "sh.stackhub.bundle-digest"
	LabelRuntime      = "sh.stackhub.runtime"
)

// DefaultRegistry is the repository prefix of bundles whose manifest names
// no registry or reference.
const DefaultRegistry = "localhost/stackhub"

type imageCache struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
	// binary is the runtime binary's identity (path, size, mtime) → digest.
	binKey, binDigest string
	bundles           map[string][]byte // image ref → bundle.json
}

func newImageCache() *imageCache {
	return &imageCache{locks: map[string]*sync.Mutex{}, bundles: map[string][]byte{}}
}

func (c *imageCache) lock(key string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.locks[key]
	if !ok {
		m = &sync.Mutex{}
		c.locks[key] = m
	}
	return m
}

// BundleReference is where a manifest says its bundle lives, defaulting the
// registry to DefaultRegistry and the tag to v<version>.
func BundleReference(m *manifest.Manifest) string {
	if m.Reference != "" {
		return m.Reference
	}
	reg := strings.TrimSuffix(m.Registry, "/")
	if reg == "" {
		reg = DefaultRegistry
	}
	return fmt.Sprintf("%s/%s:v%s", reg, m.Name, strings.ReplaceAll(strings.TrimPrefix(m.Version, "v"), "+", "_"))
}

// InvocationImageFor is Porter's invocation image name for a bundle
// reference: <repository>:porter-<md5 of the reference>.
func InvocationImageFor(ref string) string {
	sum := md5.Sum([]byte(ref))
	return repository(ref) + ":porter-" + hex.EncodeToString(sum[:])
}

func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon]
	}
	return ref
}

// baseImage makes sure the shared base image (the static runtime binary on
// scratch) exists and returns its reference.
func (e *Engine) baseImage(ctx context.Context) (string, error) {
	fi, err := os.Stat(e.cfg.RuntimeBinary)
	if err != nil {
		return "", NewUserError(ErrUnavailable, fmt.Sprintf("runtime binary %s is missing", e.cfg.RuntimeBinary),
			"build it with `make build`, or pass --runtime-binary")
	}
	key := fmt.Sprintf("%s:%d:%d", e.cfg.RuntimeBinary, fi.Size(), fi.ModTime().UnixNano())
	l := e.images.lock("base")
	l.Lock()
	defer l.Unlock()
	if e.images.binKey != key {
		d, err := build.FileDigest(e.cfg.RuntimeBinary)
		if err != nil {
			return "", err
		}
		e.images.binKey, e.images.binDigest = key, d
	}
	ref := "stackhub/runtime:" + e.images.binDigest[:16]
	ok, err := e.deps.Docker.ImageExists(ctx, ref)
	if err != nil {
		return "", err
	}
	if ok {
		return ref, nil
	}
	bctx, err := build.BaseContext(e.cfg.RuntimeBinary)
	if err != nil {
		return "", err
	}
	e.log.Info("building base image", "image", ref)
	if err := e.deps.Docker.BuildImage(ctx, bctx, []string{ref}, map[string]string{LabelRuntime: e.images.binDigest}); err != nil {
		return "", err
	}
	return ref, nil
}

// ensureImage returns the invocation image and bundle.json for a bundle,
// building the image only when the bundle's content digest has no image yet.
func (e *Engine) ensureImage(ctx context.Context, app string, fsys fs.FS, m *manifest.Manifest) (image string, bundleJSON []byte, digest string, err error) {
	base, err := e.baseImage(ctx)
	if err != nil {
		return "", nil, "", err
	}
	digest, err = build.Digest(fsys, "base="+base, "stackhub="+e.cfg.Version)
	if err != nil {
		return "", nil, "", err
	}
	ref := BundleReference(m)
	porterImage := InvocationImageFor(ref)
	image = repository(ref) + ":sh-" + strings.TrimPrefix(digest, "sha256:")[:16]

	l := e.images.lock(image)
	l.Lock()
	defer l.Unlock()
	e.images.mu.Lock()
	cached, ok := e.images.bundles[image]
	e.images.mu.Unlock()
	if ok {
		if exists, err := e.deps.Docker.ImageExists(ctx, image); err == nil && exists {
			return image, cached, digest, nil
		}
	}
	bundleJSON, err = e.deps.Converter.Convert(m, ConvertRequest{InvocationImage: porterImage, ManifestDigest: digest, Version: e.cfg.Version})
	if err != nil {
		return "", nil, "", NewUserError(ErrInvalid, fmt.Sprintf("bundle %s cannot be converted: %v", app, err), "run `stackhub bundle lint` on it")
	}
	exists, err := e.deps.Docker.ImageExists(ctx, image)
	if err != nil {
		return "", nil, "", err
	}
	if !exists {
		bctx, err := build.BundleContext(build.BundleContextOptions{Base: base, Files: fsys, Manifest: m.Raw, BundleJSON: bundleJSON})
		if err != nil {
			return "", nil, "", err
		}
		e.log.Info("building bundle image", "app", app, "image", image)
		if err := e.deps.Docker.BuildImage(ctx, bctx, []string{image, porterImage}, map[string]string{LabelBundleDigest: digest}); err != nil {
			return "", nil, "", err
		}
	}
	e.images.mu.Lock()
	e.images.bundles[image] = bundleJSON
	e.images.mu.Unlock()
	return image, bundleJSON, digest, nil
}

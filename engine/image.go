package engine

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	return Repository(ref) + ":porter-" + hex.EncodeToString(sum[:])
}

// Repository is ref without its tag or digest.
func Repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon]
	}
	return ref
}

// binaryDigest returns the runtime binary's digest, cached by its identity.
func (e *Engine) binaryDigest() (string, error) {
	fi, err := os.Stat(e.cfg.RuntimeBinary)
	if err != nil {
		return "", NewUserError(ErrUnavailable, fmt.Sprintf("runtime binary %s is missing", e.cfg.RuntimeBinary),
			"build it with `make build`, or pass --runtime-binary")
	}
	key := fmt.Sprintf("%s:%d:%d", e.cfg.RuntimeBinary, fi.Size(), fi.ModTime().UnixNano())
	e.images.mu.Lock()
	defer e.images.mu.Unlock()
	if e.images.binKey != key {
		d, err := build.FileDigest(e.cfg.RuntimeBinary)
		if err != nil {
			return "", err
		}
		e.images.binKey, e.images.binDigest = key, d
	}
	return e.images.binDigest, nil
}

// debianBase returns the configured Debian base image, or a clear error
// when it is not present.
func (e *Engine) debianBase(ctx context.Context) (string, error) {
	img := e.cfg.DebianBase
	if img == "" {
		img = build.DefaultDebianBase
	}
	ok, err := e.deps.Docker.ImageExists(ctx, img)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", NewUserError(ErrUnavailable, fmt.Sprintf("the Debian base image %s is missing", img),
			"bundles that use the exec mixin or a dockerfile template are built on it: run `make base-images` "+
				"(debootstrap, no registry needed), or pull or build a Debian image and name it with --debian-base")
	}
	return img, nil
}

// baseImage makes sure the shared base image (the static runtime binary on
// scratch) exists and returns its reference.
func (e *Engine) baseImage(ctx context.Context) (string, error) {
	return e.runtimeImage(ctx, "")
}

// runtimeImage makes sure the shared runtime image on from ("" = scratch)
// exists and returns its reference. Every bundle on the same base shares
// it, so a bundle image adds one small layer.
func (e *Engine) runtimeImage(ctx context.Context, from string) (string, error) {
	binDigest, err := e.binaryDigest()
	if err != nil {
		return "", err
	}
	ref := "stackhub/runtime:" + binDigest[:16]
	if from != "" {
		ref = "stackhub/runtime-debian:" + binDigest[:16] + "-" + shortHash(from)
	}
	l := e.images.lock("base:" + ref)
	l.Lock()
	defer l.Unlock()
	ok, err := e.deps.Docker.ImageExists(ctx, ref)
	if err != nil {
		return "", err
	}
	if ok {
		return ref, nil
	}
	bctx, err := build.RuntimeContext(e.cfg.RuntimeBinary, from)
	if err != nil {
		return "", err
	}
	e.log.Info("building base image", "image", ref, "from", from)
	if err := e.deps.Docker.BuildImage(ctx, bctx, []string{ref}, map[string]string{LabelRuntime: binDigest}); err != nil {
		return "", err
	}
	return ref, nil
}

func shortHash(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// needsShell tells whether a bundle's image must be Debian-based: it uses a
// mixin other than stackhub (exec runs commands through a shell) or a
// dockerfile template.
func needsShell(m *manifest.Manifest) bool {
	if m.Dockerfile != "" {
		return true
	}
	for _, mx := range m.Mixins {
		if mx.Name != "stackhub" {
			return true
		}
	}
	return false
}

// imageOptions are build inputs beyond the bundle folder.
type imageOptions struct {
	// BuildArgs are --build-arg values for a dockerfile template.
	BuildArgs map[string]string
	// Out receives what the build says to its user (which builder, what
	// was rewritten in a dockerfile template); nil: the log only.
	Out io.Writer
}

// BuildKitBuilder is a Docker that can also build with the Engine's
// BuildKit. Template bundles (a `dockerfile:` in porter.yaml) are built
// with it when the Engine offers it, as Porter builds with BuildKit; the
// classic builder is the fallback.
type BuildKitBuilder interface {
	// BuildKit reports whether the Engine offers BuildKit, and says which
	// builder it is or why not.
	BuildKit(ctx context.Context) (ok bool, reason string)
	// BuildImageBuildKit is BuildImage with BuildKit.
	BuildImageBuildKit(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string) error
}

// ensureImage returns the invocation image and bundle.json for a bundle,
// building the image only when the bundle's content digest has no image yet.
func (e *Engine) ensureImage(ctx context.Context, app string, fsys fs.FS, m *manifest.Manifest) (image string, bundleJSON []byte, digest string, err error) {
	image, bundleJSON, digest, _, err = e.ensureImageWith(ctx, app, fsys, m, imageOptions{})
	return image, bundleJSON, digest, err
}

// ensureImageWith is ensureImage with build options; built reports whether
// an image was built (false: the bundle was up to date).
func (e *Engine) ensureImageWith(ctx context.Context, app string, fsys fs.FS, m *manifest.Manifest, o imageOptions) (image string, bundleJSON []byte, digest string, built bool, err error) {
	var base, from string
	if needsShell(m) {
		if from, err = e.debianBase(ctx); err != nil {
			return "", nil, "", false, err
		}
	}
	var buildArgs map[string]string
	if m.Dockerfile != "" {
		if err := build.CheckTemplateName(m.Dockerfile); err != nil {
			return "", nil, "", false, NewUserError(ErrInvalid, err.Error(), "")
		}
		custom, err := build.CustomBuildArgs(m.Custom)
		if err != nil {
			return "", nil, "", false, NewUserError(ErrInvalid, err.Error(), "")
		}
		buildArgs = custom
		for k, v := range o.BuildArgs {
			buildArgs[k] = v
		}
		binDigest, err := e.binaryDigest()
		if err != nil {
			return "", nil, "", false, err
		}
		base = "template:" + from + ":" + binDigest
	} else if base, err = e.runtimeImage(ctx, from); err != nil {
		return "", nil, "", false, err
	}
	extra := []string{"base=" + base, "stackhub=" + e.cfg.Version, "manifest=" + string(m.Raw)}
	for _, k := range sortedKeys(buildArgs) {
		extra = append(extra, "arg="+k+"="+buildArgs[k])
	}
	digest, err = build.Digest(fsys, extra...)
	if err != nil {
		return "", nil, "", false, err
	}
	ref := BundleReference(m)
	porterImage := InvocationImageFor(ref)
	image = Repository(ref) + ":sh-" + strings.TrimPrefix(digest, "sha256:")[:16]

	l := e.images.lock(image)
	l.Lock()
	defer l.Unlock()
	e.images.mu.Lock()
	cached, ok := e.images.bundles[image]
	e.images.mu.Unlock()
	if ok {
		if exists, err := e.deps.Docker.ImageExists(ctx, image); err == nil && exists {
			return image, cached, digest, false, nil
		}
	}
	bundleJSON, err = e.deps.Converter.Convert(m, ConvertRequest{InvocationImage: porterImage, ManifestDigest: digest, Version: e.cfg.Version})
	if err != nil {
		return "", nil, "", false, NewUserError(ErrInvalid, fmt.Sprintf("bundle %s cannot be converted: %v", app, err), "run `stackhub bundle lint` on it")
	}
	exists, err := e.deps.Docker.ImageExists(ctx, image)
	if err != nil {
		return "", nil, "", false, err
	}
	if !exists {
		var bctx io.Reader
		buildKit := false
		if m.Dockerfile != "" {
			rewrite := map[string]string{}
			if ok, _ := e.deps.Docker.ImageExists(ctx, build.PorterDefaultBase); !ok {
				rewrite[build.PorterDefaultBase] = from
			}
			bk, canBuildKit := e.deps.Docker.(BuildKitBuilder)
			reason := "the Docker adapter has no BuildKit"
			if canBuildKit {
				buildKit, reason = bk.BuildKit(ctx)
			}
			if buildKit {
				e.say(o.Out, "building with "+reason)
			} else {
				e.say(o.Out, "building with the classic builder ("+reason+")")
			}
			var df build.Dockerfile
			bctx, df, err = build.TemplateContext(build.TemplateContextOptions{
				Binary: e.cfg.RuntimeBinary, Files: fsys, Template: m.Dockerfile, MixinLines: mixinLines(m),
				Manifest: m.Raw, BundleJSON: bundleJSON, BuildArgs: buildArgs, FromRewrite: rewrite, BuildKit: buildKit,
			})
			var te *build.TemplateError
			if errors.As(err, &te) {
				return "", nil, "", false, NewUserError(ErrInvalid, err.Error(), "")
			}
			for _, n := range df.Notes {
				e.say(o.Out, n)
			}
		} else {
			bctx, err = build.BundleContext(build.BundleContextOptions{Base: base, Files: fsys, Manifest: m.Raw, BundleJSON: bundleJSON})
		}
		if err != nil {
			return "", nil, "", false, err
		}
		e.log.Info("building bundle image", "app", app, "image", image, "buildkit", buildKit)
		tags, labels := []string{image, porterImage}, map[string]string{LabelBundleDigest: digest}
		if buildKit {
			err = e.deps.Docker.(BuildKitBuilder).BuildImageBuildKit(ctx, bctx, tags, labels)
		} else {
			err = e.deps.Docker.BuildImage(ctx, bctx, tags, labels)
		}
		if err != nil {
			return "", nil, "", false, err
		}
		built = true
	}
	e.images.mu.Lock()
	e.images.bundles[image] = bundleJSON
	e.images.mu.Unlock()
	return image, bundleJSON, digest, built, nil
}

// say tells the user of a build something (to out, else the log).
func (e *Engine) say(out io.Writer, msg string) {
	if out != nil {
		fmt.Fprintln(out, msg)
		return
	}
	e.log.Info(msg)
}

// mixinLines are the mixins' build output in manifest order.
func mixinLines(m *manifest.Manifest) []string {
	var lines []string
	for _, mx := range m.Mixins {
		if l, ok := build.MixinBuildLines[mx.Name]; ok {
			lines = append(lines, l)
		}
	}
	return lines
}

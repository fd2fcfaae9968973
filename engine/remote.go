package engine

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing/fstest"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Files of the in-memory bundle folder a pulled (or archived) bundle
// becomes: porter.yaml recovered from bundle.json, bundle.json itself, and
// what the engine needs to run it.
const (
	remoteBundleFile     = "bundle.json"
	remoteRelocationFile = "relocation-mapping.json"
	remoteDigestFile     = ".stackhub/bundle-digest"
)

// archivePrefix marks Installation.Reference of bundles installed from an
// archive file.
const archivePrefix = "archive:"

// RemoteBundle is a bundle as a registry or an archive holds it.
type RemoteBundle struct {
	// Reference is where the bundle lives (tagged or digested).
	Reference string
	// Digest is the digest of the bundle's OCI index ("" for archives).
	Digest string
	// BundleJSON is the CNAB bundle.json.
	BundleJSON []byte
	// Relocation maps every image bundle.json names to where it really is
	// (porter-compat.md 8.2).
	Relocation map[string]string
}

// ArchiveWriteOptions are how a thick archive is written.
type ArchiveWriteOptions struct {
	// Level is the gzip level (gzip.DefaultCompression, ...).
	Level int
	// Insecure allows plain HTTP and unverified TLS for every registry.
	Insecure bool
	// AppImages, when true, adds the images of the app's compose files
	// (ComposeFiles, relative to /cnab/app in the invocation image), taken
	// from the Docker daemon and pulled into it first if missing, through
	// Mirror (the registry-mirror setting) when one covers them.
	AppImages    bool
	ComposeFiles []string
	Mirror       string
}

// Registry moves bundles and images between the Docker daemon, OCI
// registries and archive files. engine/registry implements it with
// cnab-to-oci.
type Registry interface {
	// Exists reports whether ref exists in its registry.
	Exists(ctx context.Context, ref string, insecure bool) (bool, error)
	// PushImage tags the local image as target (a tagged reference), pushes
	// it through the Docker daemon and returns the pushed manifest digest.
	PushImage(ctx context.Context, local, target string) (string, error)
	// PushBundle copies every image b references into ref's repository, by
	// digest, and pushes bundle.json to ref as an OCI index. It returns the
	// bundle as pushed (rewritten bundle.json, relocation map, digest).
	PushBundle(ctx context.Context, ref string, b *RemoteBundle, insecure bool) (*RemoteBundle, error)
	// PullBundle fetches bundle.json and its relocation map. A reference to
	// a plain image is ErrInvalid.
	PullBundle(ctx context.Context, ref string, insecure bool) (*RemoteBundle, error)
	// PullImage pulls ref into the Docker daemon and tags it as tag.
	PullImage(ctx context.Context, ref, tag string) error
	// Tags lists the tags of a repository.
	Tags(ctx context.Context, repo string, insecure bool) ([]string, error)
	// WriteArchive writes b with every image it references, fetched from
	// their relocated locations and digest checked, as a thick archive.
	WriteArchive(ctx context.Context, w io.Writer, b *RemoteBundle, opts ArchiveWriteOptions) error
	// ReadArchive returns the bundle of an archive file.
	ReadArchive(ctx context.Context, path string) (*RemoteBundle, error)
	// LoadArchive loads the archive's images into the Docker daemon; tags
	// maps a manifest digest to the local tag it gets.
	LoadArchive(ctx context.Context, path string, tags map[string]string) error
	// PushArchive pushes the archive's images into ref's repository by
	// digest and returns the archive's bundle with a relocation map
	// pointing at them.
	PushArchive(ctx context.Context, path, ref string, insecure bool) (*RemoteBundle, error)
	// PushArtifact pushes data to ref (a tag) as a one-layer OCI artifact
	// of mediaType and returns its manifest digest.
	PushArtifact(ctx context.Context, ref, mediaType, title string, data []byte, insecure bool) (string, error)
	// FetchArtifact returns the layer of the mediaType artifact at ref and
	// the artifact's manifest digest.
	FetchArtifact(ctx context.Context, ref, mediaType string, insecure bool) ([]byte, string, error)
}

func (e *Engine) registry() (Registry, error) {
	if e.deps.Registry == nil {
		return nil, NewUserError(ErrUnavailable, "registry support is not configured", "")
	}
	return e.deps.Registry, nil
}

// versionTagRE matches tags Porter rewrites: digit-leading and dotted.
var versionTagRE = regexp.MustCompile(`^[0-9]+(\.[0-9A-Za-z_-]+)+$`)

// refRE is a loose check of an OCI reference; the registry adapter parses
// it for real.
var refRE = regexp.MustCompile(`^[a-z0-9]+([._:/-]*[A-Za-z0-9_]+)*(@sha256:[a-f0-9]{64})?$`)

// ParseBundleReference checks a bundle reference and applies Porter's tag
// rule (porter-compat.md 8.1): a tag like 1.2.3 becomes v1.2.3, and warning
// says so. A reference needs a tag or a digest.
func ParseBundleReference(ref string) (normalized, warning string, err error) {
	ref = strings.TrimSpace(ref)
	bad := func(why string) error {
		return NewUserError(ErrInvalid, fmt.Sprintf("bundle reference %q is not valid: %s", ref, why),
			"use REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST, for example localhost:5000/hello:v0.1.0")
	}
	if ref == "" {
		return "", "", bad("it is empty")
	}
	if !refRE.MatchString(ref) || strings.Contains(ref, "//") {
		return "", "", bad("it is not an OCI reference")
	}
	if strings.Contains(ref, "@") {
		return ref, "", nil
	}
	repo := Repository(ref)
	if repo == ref {
		return "", "", bad("it has no tag")
	}
	tag := ref[len(repo)+1:]
	if versionTagRE.MatchString(tag) {
		fixed := repo + ":v" + tag
		return fixed, fmt.Sprintf("bundle tag %q looks like a version; using %s as Porter does", tag, fixed), nil
	}
	return ref, "", nil
}

// PublishOptions asks for a bundle to be pushed to a registry.
type PublishOptions struct {
	// Dir is the bundle folder (porter.yaml at its root). Ignored when
	// Archive is set.
	Dir fs.FS
	// Archive is a thick archive file to publish instead of Dir.
	Archive string
	// Reference is the destination; empty derives it from the manifest
	// with Registry and Tag overriding its parts.
	Reference string
	Registry  string
	Tag       string
	// Force overwrites an existing tag.
	Force bool
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
}

// Validate checks the options.
func (o *PublishOptions) Validate() error {
	if o.Archive == "" && o.Dir == nil {
		return NewUserError(ErrInvalid, "publish needs a bundle folder or an archive", "pass -f porter.yaml, a folder, or -a FILE")
	}
	if o.Archive != "" && o.Reference == "" {
		return NewUserError(ErrInvalid, "publishing an archive needs --reference", "pass --reference REGISTRY/REPOSITORY:TAG")
	}
	if strings.ContainsAny(o.Tag, ":@") {
		return NewUserError(ErrInvalid, fmt.Sprintf("tag %q must not contain ':' or '@'", o.Tag), "pass only the tag, for example --tag v1.0.0")
	}
	return nil
}

// PublishResult is what Publish pushed.
type PublishResult struct {
	Reference  string            `json:"reference"`
	Digest     string            `json:"digest"`
	Relocation map[string]string `json:"relocationMap,omitempty"`
	// Warnings are non-fatal notes (a rewritten tag).
	Warnings []string `json:"warnings,omitempty"`
}

// BuildBundle builds a bundle folder's invocation image if it is stale and
// returns the local image, bundle.json and the bundle's content digest.
func (e *Engine) BuildBundle(ctx context.Context, dir fs.FS) (image string, bundleJSON []byte, digest string, err error) {
	m, err := e.loadManifest(dir, ".")
	if err != nil {
		return "", nil, "", err
	}
	return e.ensureImage(ctx, m.Name, dir, m)
}

// Publish builds the bundle if stale and pushes its invocation image and
// bundle.json to a registry as Porter does (porter-compat.md 8.1), or pushes
// a thick archive's images and bundle (8.3).
func (e *Engine) Publish(ctx context.Context, opts PublishOptions) (*PublishResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	var m *manifest.Manifest
	ref := opts.Reference
	if opts.Archive == "" {
		if m, err = e.loadManifest(opts.Dir, "."); err != nil {
			return nil, err
		}
		if ref == "" {
			ref = publishReference(m, opts.Registry, opts.Tag)
		}
	}
	ref, warning, err := ParseBundleReference(ref)
	if err != nil {
		return nil, err
	}
	res := &PublishResult{Reference: ref}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	if strings.Contains(ref, "@") {
		return nil, NewUserError(ErrInvalid, fmt.Sprintf("cannot publish to the digest reference %s", ref), "publish to a tag")
	}
	if !opts.Force {
		exists, err := reg.Exists(ctx, ref, opts.Insecure)
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", ref, err)
		}
		if exists {
			return nil, NewUserError(ErrConflict, fmt.Sprintf("Publish stopped because %s already exists in the destination registry. To overwrite it, repeat the command with --force specified.", ref), "")
		}
	}
	var src *RemoteBundle
	if opts.Archive != "" {
		if src, err = reg.PushArchive(ctx, opts.Archive, ref, opts.Insecure); err != nil {
			return nil, fmt.Errorf("publish %s from %s: %w", ref, opts.Archive, err)
		}
	} else {
		image, bundleJSON, _, err := e.ensureImage(ctx, m.Name, opts.Dir, m)
		if err != nil {
			return nil, fmt.Errorf("build bundle %s: %w", m.Name, err)
		}
		target := InvocationImageFor(ref)
		e.log.Info("pushing invocation image", "image", target)
		imgDigest, err := reg.PushImage(ctx, image, target)
		if err != nil {
			return nil, fmt.Errorf("push invocation image %s: %w", target, err)
		}
		bundleJSON, err = pinInvocationImage(bundleJSON, Repository(ref)+"@"+imgDigest, imgDigest)
		if err != nil {
			return nil, err
		}
		src = &RemoteBundle{Reference: ref, BundleJSON: bundleJSON}
	}
	pushed, err := reg.PushBundle(ctx, ref, src, opts.Insecure)
	if err != nil {
		return nil, fmt.Errorf("push bundle %s: %w", ref, err)
	}
	res.Digest = pushed.Digest
	res.Relocation = pushed.Relocation
	return res, nil
}

// publishReference is the manifest's reference with --registry and --tag
// overriding its parts.
func publishReference(m *manifest.Manifest, registry, tag string) string {
	ref := BundleReference(m)
	if registry != "" {
		name := Repository(ref)
		name = name[strings.LastIndex(name, "/")+1:]
		ref = strings.TrimSuffix(registry, "/") + "/" + name + ref[len(Repository(ref)):]
	}
	if tag != "" {
		ref = Repository(ref) + ":" + tag
	}
	return ref
}

// bundleJSONDoc is bundle.json as a generic document, so rewriting one
// field keeps every other.
type bundleJSONDoc map[string]json.RawMessage

type invocationImage struct {
	Image         string `json:"image"`
	ImageType     string `json:"imageType,omitempty"`
	ContentDigest string `json:"contentDigest,omitempty"`
	MediaType     string `json:"mediaType,omitempty"`
	Size          uint64 `json:"size,omitempty"`
}

// pinInvocationImage points invocationImages[0] at image with digest.
func pinInvocationImage(bundleJSON []byte, image, digest string) ([]byte, error) {
	var doc bundleJSONDoc
	if err := json.Unmarshal(bundleJSON, &doc); err != nil {
		return nil, fmt.Errorf("read bundle.json: %w", err)
	}
	var imgs []map[string]any
	if err := json.Unmarshal(doc["invocationImages"], &imgs); err != nil || len(imgs) != 1 {
		return nil, fmt.Errorf("read bundle.json: want exactly one invocation image")
	}
	imgs[0]["image"] = image
	imgs[0]["contentDigest"] = digest
	raw, err := json.Marshal(imgs)
	if err != nil {
		return nil, fmt.Errorf("write bundle.json: %w", err)
	}
	doc["invocationImages"] = raw
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("write bundle.json: %w", err)
	}
	return out, nil
}

// invocationOf returns bundle.json's invocation image.
func invocationOf(bundleJSON []byte) (invocationImage, error) {
	var b struct {
		InvocationImages []invocationImage `json:"invocationImages"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return invocationImage{}, fmt.Errorf("read bundle.json: %w", err)
	}
	if len(b.InvocationImages) != 1 {
		return invocationImage{}, fmt.Errorf("read bundle.json: want exactly one invocation image, found %d", len(b.InvocationImages))
	}
	return b.InvocationImages[0], nil
}

// localInvocationTag is the local tag a pulled or loaded invocation image
// gets: derived from its digest, so later actions find it again without the
// registry (Docker cannot record a digest for images it loaded).
func localInvocationTag(inv invocationImage) string {
	return Repository(inv.Image) + ":sh-" + strings.TrimPrefix(inv.ContentDigest, "sha256:")
}

// manifestOf recovers porter.yaml from bundle.json's custom."sh.porter".
func manifestOf(bundleJSON []byte) ([]byte, error) {
	var b struct {
		Custom map[string]json.RawMessage `json:"custom"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return nil, fmt.Errorf("read bundle.json: %w", err)
	}
	var stamp struct {
		Manifest string `json:"manifest"`
	}
	if raw, ok := b.Custom["sh.porter"]; ok {
		_ = json.Unmarshal(raw, &stamp)
	}
	if stamp.Manifest == "" {
		return nil, NewUserError(ErrInvalid, "the bundle carries no porter.yaml (custom.\"sh.porter\".manifest)",
			"StackHub installs Porter bundles: publish it with porter or stackhub bundle publish")
	}
	data, err := base64.StdEncoding.DecodeString(stamp.Manifest)
	if err != nil {
		return nil, fmt.Errorf("decode the bundle's porter.yaml: %w", err)
	}
	return data, nil
}

// remoteFS is the bundle folder of a pulled bundle: porter.yaml recovered
// from bundle.json, bundle.json, the relocation map and the digest.
func remoteFS(b *RemoteBundle) (fs.FS, error) {
	yaml, err := manifestOf(b.BundleJSON)
	if err != nil {
		return nil, err
	}
	reloc, err := json.Marshal(b.Relocation)
	if err != nil {
		return nil, fmt.Errorf("encode relocation map: %w", err)
	}
	return fstest.MapFS{
		"porter.yaml":        {Data: yaml, Mode: 0o644},
		remoteBundleFile:     {Data: b.BundleJSON, Mode: 0o644},
		remoteRelocationFile: {Data: reloc, Mode: 0o644},
		remoteDigestFile:     {Data: []byte(b.Digest), Mode: 0o644},
	}, nil
}

// openSource returns the bundle folder an install uses: the catalog app, or
// a bundle pulled by reference or loaded from an archive (its invocation
// image then is in the Docker daemon). It fills App and Name from the
// bundle when they are empty.
func (e *Engine) openSource(ctx context.Context, opts *InstallOptions) (fs.FS, error) {
	if opts.Reference == "" && opts.Archive == "" {
		// An app of a registry source installs from its published bundle.
		if br, ok := e.deps.Catalog.(bundleReferencer); ok && opts.App != "" {
			if ref, insecure, found := br.BundleReference(ctx, opts.App); found {
				opts.Reference, opts.Insecure = ref, opts.Insecure || insecure
			}
		}
		if opts.Reference == "" {
			return e.deps.Catalog.Open(ctx, opts.App)
		}
	}
	var fsys fs.FS
	if opts.Archive != "" {
		var err error
		if fsys, err = e.openArchive(ctx, opts); err != nil {
			return nil, err
		}
	} else {
		ref, warning, err := ParseBundleReference(opts.Reference)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			e.log.Warn(warning)
		}
		opts.Reference = ref
		if fsys, _, err = e.fetchRemote(ctx, ref, opts.Insecure); err != nil {
			return nil, err
		}
	}
	m, err := e.loadManifest(fsys, "bundle")
	if err != nil {
		return nil, err
	}
	if opts.App == "" {
		opts.App = m.Name
	}
	if opts.Name == "" {
		opts.Name = opts.App
	}
	if err := ValidateName("installation name", opts.Name); err != nil {
		return nil, err
	}
	return fsys, nil
}

// bundleReferencer is a catalog some of whose apps are bundles published
// to a registry (Sources with a registry source).
type bundleReferencer interface {
	BundleReference(ctx context.Context, name string) (ref string, insecure, ok bool)
}

// fetchRemote pulls the bundle published at ref and its invocation image
// (tagged locally by digest), and returns its bundle folder.
func (e *Engine) fetchRemote(ctx context.Context, ref string, insecure bool) (fs.FS, *RemoteBundle, error) {
	if err := e.checkRegistry("bundle", ref); err != nil {
		return nil, nil, err
	}
	reg, err := e.registry()
	if err != nil {
		return nil, nil, err
	}
	b, err := reg.PullBundle(ctx, ref, insecure)
	if err != nil {
		return nil, nil, fmt.Errorf("pull bundle %s: %w", ref, err)
	}
	if key := e.requiredKey(ref); key != nil {
		if _, err := e.verifyPulled(ctx, ref, b, key, insecure); err != nil {
			return nil, nil, err
		}
	}
	inv, err := pinnedInvocation(b)
	if err != nil {
		return nil, nil, err
	}
	src := inv.Image
	if r, ok := b.Relocation[inv.Image]; ok {
		src = r
	}
	if err := e.checkRegistry("invocation image", src); err != nil {
		return nil, nil, err
	}
	if err := reg.PullImage(ctx, src, localInvocationTag(inv)); err != nil {
		return nil, nil, fmt.Errorf("pull invocation image %s: %w", src, err)
	}
	fsys, err := remoteFS(b)
	if err != nil {
		return nil, nil, err
	}
	return fsys, b, nil
}

// openArchive reads a thick bundle archive, loads its images into the
// Docker daemon and returns its bundle folder; opts.Reference becomes
// archive:<absolute path> unless set.
func (e *Engine) openArchive(ctx context.Context, opts *InstallOptions) (fs.FS, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	b, err := reg.ReadArchive(ctx, opts.Archive)
	if err != nil {
		return nil, fmt.Errorf("read archive %s: %w", opts.Archive, err)
	}
	inv, err := pinnedInvocation(b)
	if err != nil {
		return nil, err
	}
	if err := reg.LoadArchive(ctx, opts.Archive, map[string]string{inv.ContentDigest: localInvocationTag(inv)}); err != nil {
		return nil, fmt.Errorf("load images of %s: %w", opts.Archive, err)
	}
	if opts.Reference == "" {
		abs, err := filepath.Abs(opts.Archive)
		if err != nil {
			abs = opts.Archive
		}
		opts.Reference = archivePrefix + abs
	}
	return remoteFS(b)
}

// pinnedInvocation returns the bundle's invocation image, refusing one
// without a content digest.
func pinnedInvocation(b *RemoteBundle) (invocationImage, error) {
	inv, err := invocationOf(b.BundleJSON)
	if err != nil {
		return inv, err
	}
	if inv.ContentDigest == "" {
		return inv, NewUserError(ErrInvalid, "the bundle's invocation image has no contentDigest",
			"refusing it: without a digest the image could have been tampered with; republish the bundle")
	}
	return inv, nil
}

// openInstalled returns the bundle folder of an existing installation: the
// catalog app, or for a pulled bundle the bundle.json of its latest run.
func (e *Engine) openInstalled(ctx context.Context, inst *Installation) (fs.FS, error) {
	if inst.Reference == "" {
		return e.deps.Catalog.Open(ctx, inst.App)
	}
	runs, err := e.deps.Store.ListRuns(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return nil, fmt.Errorf("open bundle of %s: %w", inst.Name, err)
	}
	for _, run := range runs {
		if len(run.Bundle) == 0 {
			continue
		}
		return remoteFS(&RemoteBundle{Reference: inst.Reference, Digest: run.BundleDigest, BundleJSON: run.Bundle})
	}
	return nil, NewUserError(ErrNotFound, fmt.Sprintf("no bundle.json is recorded for %s", inst.Name), "")
}

// bundleImage returns the invocation image, bundle.json and digest an
// action runs: built from the catalog folder, or the pulled bundle's.
func (e *Engine) bundleImage(ctx context.Context, inst *Installation, fsys fs.FS, m *manifest.Manifest) (image string, bundleJSON []byte, digest string, err error) {
	bundleJSON, err = fs.ReadFile(fsys, remoteBundleFile)
	if inst.Reference == "" || err != nil {
		return e.ensureImage(ctx, inst.App, fsys, m)
	}
	d, _ := fs.ReadFile(fsys, remoteDigestFile)
	inv, err := invocationOf(bundleJSON)
	if err != nil {
		return "", nil, "", err
	}
	image = localInvocationTag(inv)
	ok, err := e.deps.Docker.ImageExists(ctx, image)
	if err != nil {
		return "", nil, "", err
	}
	if !ok && !strings.HasPrefix(inst.Reference, archivePrefix) && e.deps.Registry != nil {
		src := inv.Image
		var reloc map[string]string
		if raw, err := fs.ReadFile(fsys, remoteRelocationFile); err == nil {
			_ = json.Unmarshal(raw, &reloc)
		}
		if r, ok := reloc[inv.Image]; ok {
			src = r
		}
		if err := e.checkRegistry("invocation image", src); err != nil {
			return "", nil, "", err
		}
		if err := e.deps.Registry.PullImage(ctx, src, image); err != nil {
			return "", nil, "", fmt.Errorf("pull invocation image %s: %w", src, err)
		}
	} else if !ok {
		return "", nil, "", NewUserError(ErrNotFound, fmt.Sprintf("invocation image %s is missing", image),
			"install the bundle again from its archive or registry")
	}
	return image, bundleJSON, string(d), nil
}

// ArchiveOptions asks for a thick bundle archive (porter-compat.md 8.3).
type ArchiveOptions struct {
	// Reference is the bundle to archive.
	Reference string
	// Compression is NoCompression, BestSpeed, BestCompression,
	// DefaultCompression (default) or HuffmanOnly.
	Compression string
	Insecure    bool
	// WithImages adds the app's own images (those of its compose files), so
	// that the archive installs on a host with no registry at all.
	WithImages bool
}

// CompressionLevel maps Porter's --compression names to gzip levels.
func CompressionLevel(name string) (int, error) {
	switch name {
	case "", "DefaultCompression":
		return gzip.DefaultCompression, nil
	case "NoCompression":
		return gzip.NoCompression, nil
	case "BestSpeed":
		return gzip.BestSpeed, nil
	case "BestCompression":
		return gzip.BestCompression, nil
	case "HuffmanOnly":
		return gzip.HuffmanOnly, nil
	}
	return 0, NewUserError(ErrInvalid, fmt.Sprintf("compression %q is not known", name),
		"use NoCompression, BestSpeed, BestCompression, DefaultCompression or HuffmanOnly")
}

// Archive pulls a bundle and writes it, with every image it references, as
// a deterministic thick archive to w.
func (e *Engine) Archive(ctx context.Context, w io.Writer, opts ArchiveOptions) (*RemoteBundle, error) {
	level, err := CompressionLevel(opts.Compression)
	if err != nil {
		return nil, err
	}
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	ref, warning, err := ParseBundleReference(opts.Reference)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		e.log.Warn(warning)
	}
	b, err := reg.PullBundle(ctx, ref, opts.Insecure)
	if err != nil {
		return nil, fmt.Errorf("pull bundle %s: %w", ref, err)
	}
	wo := ArchiveWriteOptions{Level: level, Insecure: opts.Insecure}
	if opts.WithImages {
		if wo.ComposeFiles, err = composeFilesOf(b.BundleJSON); err != nil {
			return nil, fmt.Errorf("archive %s: %w", ref, err)
		}
		wo.AppImages, wo.Mirror = true, e.cfg.RegistryMirror
	}
	if err := reg.WriteArchive(ctx, w, b, wo); err != nil {
		return nil, fmt.Errorf("archive %s: %w", ref, err)
	}
	return b, nil
}

// composeFilesOf lists the compose files the bundle's stackhub steps
// deploy, in the order they first appear.
func composeFilesOf(bundleJSON []byte) ([]string, error) {
	data, err := manifestOf(bundleJSON)
	if err != nil {
		return nil, err
	}
	m, err := manifest.Parse(data, "porter.yaml")
	if err != nil {
		return nil, err
	}
	files := manifestComposeFiles(m)
	if len(files) == 0 {
		return nil, NewUserError(ErrInvalid, "the bundle deploys no compose file, so it has no app images to add",
			"archive it without --with-images; list its images under images: in porter.yaml if it needs some")
	}
	return files, nil
}

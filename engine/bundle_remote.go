package engine

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/stackhub/stackhub/engine/manifest"
)

// The verbs below serve Porter's authoring surface (package porter): they
// reach the registry and the manifest without handing out the adapters.

// FetchBundle pulls the bundle published at ref and its invocation image,
// checked against the allowed registries and the signing policy, and
// returns its bundle folder and its parsed manifest.
func (e *Engine) FetchBundle(ctx context.Context, ref string, insecure bool) (fs.FS, *RemoteBundle, *manifest.Manifest, error) {
	fsys, b, err := e.fetchRemote(ctx, ref, insecure)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := e.loadManifest(fsys, ref)
	if err != nil {
		return nil, nil, nil, err
	}
	return fsys, b, m, nil
}

// BundleExists tells whether a bundle is published at ref.
func (e *Engine) BundleExists(ctx context.Context, ref string, insecure bool) (bool, error) {
	reg, err := e.registry()
	if err != nil {
		return false, err
	}
	if err := e.checkRegistry("bundle", ref); err != nil {
		return false, err
	}
	return reg.Exists(ctx, ref, insecure)
}

// PushArchive pushes a thick bundle archive (the file at path) and every
// image it holds to ref, and returns the pushed bundle's digest.
func (e *Engine) PushArchive(ctx context.Context, path, ref string, insecure bool) (string, error) {
	reg, err := e.registry()
	if err != nil {
		return "", err
	}
	if err := e.checkRegistry("bundle", ref); err != nil {
		return "", err
	}
	b, err := reg.PushArchive(ctx, path, ref, insecure)
	if err != nil {
		return "", fmt.Errorf("copy to %s: %w", ref, err)
	}
	pushed, err := reg.PushBundle(ctx, ref, b, insecure)
	if err != nil {
		return "", fmt.Errorf("push bundle %s: %w", ref, err)
	}
	return pushed.Digest, nil
}

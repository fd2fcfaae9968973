package porter

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/reference"

	"github.com/stackhub/stackhub/engine"
)

// CopyOptions ask to copy a published bundle with all its images to
// another registry or repository (porter-compat.md 8.4).
type CopyOptions struct {
	// Source is the bundle's reference.
	Source string
	// Destination is a full tagged reference, or a registry/repository
	// prefix that gets the source's name and tag appended.
	Destination string
	Force       bool
	Insecure    bool
}

// CopyResult is where the copy went.
type CopyResult struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

// copyDestination resolves a destination: a tagged reference stays; a
// prefix gets the source's last path element and tag. A digest source
// needs a tagged destination.
func copyDestination(source, dest string) (string, error) {
	dest = strings.TrimSuffix(dest, "/")
	if named, err := reference.ParseNormalizedNamed(dest); err == nil {
		if _, ok := named.(reference.Tagged); ok {
			return dest, nil
		}
		if _, ok := named.(reference.Digested); ok {
			return "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("cannot copy to the digest reference %s", dest), "copy to a tag")
		}
	}
	src, err := reference.ParseNormalizedNamed(source)
	if err != nil {
		return "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("invalid source %s: %v", source, err), "")
	}
	tagged, ok := src.(reference.Tagged)
	if !ok {
		return "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("the source %s is a digest, so the destination must name a tag", source),
			"pass --destination REGISTRY/REPOSITORY:TAG")
	}
	path := reference.Path(src)
	ref := dest + "/" + path[strings.LastIndex(path, "/")+1:] + ":" + tagged.Tag()
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("invalid destination %s: %v", dest, err), "")
	}
	return ref, nil
}

// Copy pulls a bundle and every image it references and pushes them to
// the destination, by way of a thick archive in a temporary file, so that
// a copy of a copy works with the first registry gone.
func (a *Authoring) Copy(ctx context.Context, opts CopyOptions) (*CopyResult, error) {
	src, warning, err := engine.ParseBundleReference(opts.Source)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		a.log.Warn(warning)
	}
	dest, err := copyDestination(src, opts.Destination)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		exists, err := a.eng.BundleExists(ctx, dest, opts.Insecure)
		if err != nil {
			return nil, fmt.Errorf("copy to %s: %w", dest, err)
		}
		if exists {
			return nil, engine.NewUserError(engine.ErrConflict, fmt.Sprintf("Copy stopped because %s already exists in the destination registry. To overwrite it, repeat the command with --force specified.", dest), "")
		}
	}
	tmp, err := os.CreateTemp("", "stackhub-copy-*.tgz")
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", src, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := a.eng.Archive(ctx, tmp, engine.ArchiveOptions{Reference: src, Compression: "NoCompression", Insecure: opts.Insecure}); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("copy %s: %w", src, err)
	}
	digest, err := a.eng.PushArchive(ctx, tmp.Name(), dest, opts.Insecure)
	if err != nil {
		return nil, err
	}
	return &CopyResult{Reference: dest, Digest: digest}, nil
}

package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	cremotes "github.com/containerd/containerd/v2/core/remotes"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stackhub/stackhub/engine"
)

// emptyConfig is the OCI empty descriptor's content (image-spec 1.1).
var emptyConfig = []byte("{}")

// PushArtifact pushes data as a one-layer OCI artifact to ref (a tag):
// artifactType and the layer's media type are mediaType, the config is the
// empty descriptor, and the layer is titled title.
func (c *Client) PushArtifact(ctx context.Context, ref, mediaType, title string, data []byte, insecure bool) (string, error) {
	ctx = quiet(ctx)
	named, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	resolver := c.resolver(insecure, ref)
	pusher, err := resolver.Pusher(ctx, named.String())
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, unreachable(err, ref))
	}
	cfg := ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digest.FromBytes(emptyConfig), Size: int64(len(emptyConfig))}
	layer := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data)),
		Annotations: map[string]string{ocispec.AnnotationTitle: title}}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: mediaType, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	m.SchemaVersion = 2
	mj, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	man := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mj), Size: int64(len(mj))}
	for _, blob := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{cfg, emptyConfig}, {layer, data}, {man, mj}} {
		if err := pushBlob(ctx, pusher, blob.desc, blob.data); err != nil {
			return "", fmt.Errorf("push %s: %w", ref, unreachable(err, ref))
		}
	}
	return man.Digest.String(), nil
}

func pushBlob(ctx context.Context, p cremotes.Pusher, desc ocispec.Descriptor, data []byte) error {
	w, err := p.Push(ctx, desc)
	if cerrdefs.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Commit(ctx, desc.Size, desc.Digest); err != nil && !cerrdefs.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// FetchArtifact returns the single layer of the OCI artifact at ref, which
// must be of mediaType, and the artifact's manifest digest.
func (c *Client) FetchArtifact(ctx context.Context, ref, mediaType string, insecure bool) ([]byte, string, error) {
	ctx = quiet(ctx)
	named, err := parseRef(ref)
	if err != nil {
		return nil, "", err
	}
	resolver := c.resolver(insecure, ref)
	_, desc, err := resolver.Resolve(ctx, named.String())
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, "", engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("%s not found", ref), "publish it first (make publish REGISTRY=...)")
		}
		return nil, "", unreachable(err, ref)
	}
	f, err := resolver.Fetcher(ctx, named.String())
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", ref, err)
	}
	mj, err := fetchAll(ctx, f, desc, 1<<20)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mj, &m); err != nil || len(m.Layers) != 1 || m.Layers[0].MediaType != mediaType {
		return nil, "", engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("%s is not a %s artifact", ref, mediaType), "check the reference")
	}
	data, err := fetchAll(ctx, f, m.Layers[0], 64<<20)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", ref, err)
	}
	return data, desc.Digest.String(), nil
}

// fetchAll reads a blob (at most limit bytes) and checks its digest.
func fetchAll(ctx context.Context, f cremotes.Fetcher, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("blob %s is %d bytes, more than %d", desc.Digest, desc.Size, limit)
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, limit+1)); err != nil {
		return nil, err
	}
	if digest.FromBytes(buf.Bytes()) != desc.Digest {
		return nil, fmt.Errorf("blob %s: digest mismatch", desc.Digest)
	}
	return buf.Bytes(), nil
}

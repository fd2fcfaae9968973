package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// buildKitProbe remembers whether the Engine builds with BuildKit.
type buildKitProbe struct {
	mu     sync.Mutex
	done   bool
	ok     bool
	reason string
}

// BuildKit reports whether the Engine offers BuildKit builds: builder
// version 2 of the Engine API's /build, with the build context uploaded as a
// tar (no client session, so no local-directory sync, secrets or ssh). It
// sends one build of an empty context once and remembers the answer: an
// Engine with BuildKit answers with its solver's stream (and a "cannot be
// empty" or "no such file" error for the missing Dockerfile), one without
// refuses the builder version. reason says why not, or names the builder.
func (c *Client) BuildKit(ctx context.Context) (ok bool, reason string) {
	c.buildKit.mu.Lock()
	defer c.buildKit.mu.Unlock()
	if c.buildKit.done {
		return c.buildKit.ok, c.buildKit.reason
	}
	ok, reason, err := c.probeBuildKit(ctx)
	if err != nil {
		return false, err.Error() // not remembered: the daemon may be busy
	}
	c.buildKit.done, c.buildKit.ok, c.buildKit.reason = true, ok, reason
	return ok, reason
}

func (c *Client) probeBuildKit(ctx context.Context) (bool, string, error) {
	var empty bytes.Buffer
	if err := tar.NewWriter(&empty).Close(); err != nil {
		return false, "", fmt.Errorf("probe buildkit: %w", err)
	}
	res, err := c.api.ImageBuild(ctx, &empty, client.ImageBuildOptions{Version: build.BuilderBuildKit, Dockerfile: "Dockerfile"})
	if err != nil {
		if ctx.Err() != nil {
			return false, "", fmt.Errorf("probe buildkit: %w", err)
		}
		return false, "the Engine refuses builder version 2: " + err.Error(), nil
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	buildKit := false
	for {
		var msg struct {
			ID    string `json:"id"`
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return false, "", fmt.Errorf("probe buildkit: read build output: %w", err)
		}
		if strings.HasPrefix(msg.ID, "moby.buildkit.") || strings.Contains(msg.Error, "dockerfile.v0") {
			buildKit = true
		}
	}
	if !buildKit {
		return false, "the Engine answered builder version 2 without BuildKit's solver", nil
	}
	return true, "the Engine's built-in BuildKit (builder version 2, Dockerfile frontend dockerfile.v0)", nil
}

// DisableBuildKit makes BuildKit report false, for reason: builds use the
// classic builder.
func (c *Client) DisableBuildKit(reason string) {
	c.buildKit.mu.Lock()
	defer c.buildKit.mu.Unlock()
	c.buildKit.done, c.buildKit.ok, c.buildKit.reason = true, false, reason
}

// BuildImageBuildKit builds like BuildImage, with the Engine's BuildKit.
func (c *Client) BuildImageBuildKit(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string) error {
	return c.buildImage(ctx, buildContext, tags, labels, build.BuilderBuildKit)
}

// Package registry is the engine's adapter to OCI registries and bundle
// archives: it publishes and pulls bundles with cnab-to-oci, pushes, pulls
// and loads images through the Docker Engine API, and reads and writes thick
// bundle archives (OCI image layouts in a .tgz). It is the only package that
// imports cnab-to-oci; it must not import database/sql or the service.
package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-to-oci/relocation"
	"github.com/cnabio/cnab-to-oci/remotes"
	cremotes "github.com/containerd/containerd/v2/core/remotes"
	cerrdefs "github.com/containerd/errdefs"
	clog "github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/moby/moby/api/pkg/authconfig"
	registrytypes "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"

	"github.com/stackhub/stackhub/engine"
)

// Client is the engine.Registry over cnab-to-oci and the Docker Engine API.
type Client struct {
	api *client.Client
	log *slog.Logger
	cfg *configfile.ConfigFile
}

var _ engine.Registry = (*Client)(nil)

// New returns a Client pushing and pulling images through api. Registry
// credentials come from the Docker CLI's config file (docker login).
func New(api *client.Client, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{api: api, log: log, cfg: config.LoadDefaultConfigFile(io.Discard)}
}

// resolver returns a registry resolver; with insecure, the registries of
// every ref accept plain HTTP and unverified TLS (porter-compat.md 8.5).
// Loopback registries always accept plain HTTP.
func (c *Client) resolver(insecure bool, refs ...string) cremotes.Resolver {
	var hosts []string
	if insecure {
		seen := map[string]bool{}
		for _, r := range refs {
			named, err := reference.ParseNormalizedNamed(r)
			if err != nil {
				continue
			}
			if d := reference.Domain(named); !seen[d] {
				seen[d] = true
				hosts = append(hosts, d)
			}
		}
	}
	return remotes.CreateResolver(c.cfg, hosts...)
}

// quiet silences containerd's resolver logging (a 404 while checking a
// tag is expected, not news); StackHub reports what matters itself.
func quiet(ctx context.Context) context.Context {
	l := logrus.New()
	l.Out = io.Discard
	return clog.WithLogger(ctx, logrus.NewEntry(l))
}

func parseRef(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, engine.NewUserError(engine.ErrInvalid, fmt.Sprintf("reference %q is not valid: %v", ref, err),
			"use REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST")
	}
	return reference.TagNameOnly(named), nil
}

// unreachable classifies an error talking to a registry.
func unreachable(err error, ref string) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: %w: %w", ref, engine.ErrNotFound, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout") {
		return &engine.UserError{
			Msg:  fmt.Sprintf("registry of %s is not reachable: %v", ref, err),
			Hint: "check the registry runs and the address is right; with no registry at all, use a bundle archive (stackhub bundle archive, install --archive)",
			Err:  fmt.Errorf("%w: %w", engine.ErrUnavailable, err),
		}
	}
	if strings.Contains(msg, "http: server gave HTTP response to HTTPS client") || strings.Contains(msg, "x509") {
		return &engine.UserError{
			Msg:  fmt.Sprintf("registry of %s: %v", ref, err),
			Hint: "if the registry uses plain HTTP or a self-signed certificate, pass --insecure-registry",
			Err:  err,
		}
	}
	return err
}

// Exists reports whether ref exists in its registry.
func (c *Client) Exists(ctx context.Context, ref string, insecure bool) (bool, error) {
	ctx = quiet(ctx)
	named, err := parseRef(ref)
	if err != nil {
		return false, err
	}
	_, _, err = c.resolver(insecure, ref).Resolve(ctx, named.String())
	if err == nil {
		return true, nil
	}
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("look up %s: %w", ref, unreachable(err, ref))
}

// registryAuth is the X-Registry-Auth header for ref's registry.
func (c *Client) registryAuth(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	host := reference.Domain(named)
	if host == "docker.io" {
		host = "https://index.docker.io/v1/"
	}
	a, err := c.cfg.GetAuthConfig(host)
	if err != nil {
		return ""
	}
	enc, err := authconfig.Encode(registrytypes.AuthConfig{
		Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress,
		Auth: a.Auth, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken,
	})
	if err != nil {
		return ""
	}
	return enc
}

// PushImage tags local as target, pushes it through the daemon and returns
// the digest the registry reported.
func (c *Client) PushImage(ctx context.Context, local, target string) (string, error) {
	if _, err := c.api.ImageTag(ctx, client.ImageTagOptions{Source: local, Target: target}); err != nil {
		return "", fmt.Errorf("tag %s as %s: %w", local, target, err)
	}
	resp, err := c.api.ImagePush(ctx, target, client.ImagePushOptions{RegistryAuth: c.registryAuth(target)})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", target, unreachable(err, target))
	}
	defer resp.Close()
	var digest string
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return "", fmt.Errorf("push %s: %w", target, err)
		}
		if msg.Error != nil {
			return "", fmt.Errorf("push %s: %w", target, unreachable(errors.New(msg.Error.Message), target))
		}
		if msg.Aux != nil {
			var aux struct {
				Digest string `json:"Digest"`
			}
			if json.Unmarshal(*msg.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
	}
	if digest == "" {
		return "", fmt.Errorf("push %s: the daemon reported no digest", target)
	}
	return digest, nil
}

// PullImage pulls ref into the daemon, unless tag is already there, and
// tags it as tag.
func (c *Client) PullImage(ctx context.Context, ref, tag string) error {
	if _, err := c.api.ImageInspect(ctx, tag); err == nil {
		return nil
	}
	resp, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: c.registryAuth(ref)})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, unreachable(err, ref))
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("pull %s: %w", ref, unreachable(errors.New(msg.Error.Message), ref))
		}
	}
	if _, err := c.api.ImageTag(ctx, client.ImageTagOptions{Source: ref, Target: tag}); err != nil {
		return fmt.Errorf("tag %s as %s: %w", ref, tag, err)
	}
	return nil
}

func readBundle(data []byte) (*bundle.Bundle, error) {
	b, err := bundle.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("read bundle.json: %w", err)
	}
	return b, nil
}

func writeBundle(b *bundle.Bundle) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("write bundle.json: %w", err)
	}
	return buf.Bytes(), nil
}

// imageRefs lists every image bundle.json names, the invocation image
// first, and where each really is.
func imageRefs(b *bundle.Bundle, reloc map[string]string) []string {
	var refs []string
	for _, ii := range b.InvocationImages {
		refs = append(refs, ii.Image)
	}
	for _, name := range sortedKeys(b.Images) {
		refs = append(refs, b.Images[name].Image)
	}
	for _, r := range sortedKeys(reloc) {
		refs = append(refs, reloc[r])
	}
	return refs
}

// PushBundle relocates every image of b into ref's repository by digest and
// pushes bundle.json to ref as an OCI index, as cnab-to-oci lays it out.
func (c *Client) PushBundle(ctx context.Context, ref string, in *engine.RemoteBundle, insecure bool) (*engine.RemoteBundle, error) {
	ctx = quiet(ctx)
	named, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	b, err := readBundle(in.BundleJSON)
	if err != nil {
		return nil, err
	}
	reloc := relocation.ImageRelocationMap{}
	for k, v := range in.Relocation {
		reloc[k] = v
	}
	resolver := c.resolver(insecure, append([]string{ref}, imageRefs(b, in.Relocation)...)...)
	reloc, err = remotes.FixupBundle(ctx, b, named, resolver,
		remotes.WithAutoBundleUpdate(),
		remotes.WithPushImages(c.api, io.Discard),
		remotes.WithRelocationMap(reloc),
		remotes.WithEventCallback(func(ev remotes.FixupEvent) {
			if ev.EventType == remotes.FixupEventTypeCopyImageEnd {
				c.log.Info("image relocated", "image", ev.SourceImage, "into", ev.DestinationRef.Name(), "msg", ev.Message)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("relocate the images of %s: %w", ref, unreachable(err, ref))
	}
	desc, err := remotes.Push(ctx, b, reloc, named, resolver, true)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", ref, unreachable(err, ref))
	}
	data, err := writeBundle(b)
	if err != nil {
		return nil, err
	}
	return &engine.RemoteBundle{Reference: ref, Digest: desc.Digest.String(), BundleJSON: data, Relocation: reloc}, nil
}

// notBundle is Porter's refusal of a plain image given as a bundle.
func notBundle(ref string, err error) error {
	return &engine.UserError{
		Msg:  "the provided reference must be a Porter bundle",
		Hint: fmt.Sprintf("%s is an image, not a bundle; publish bundles with stackhub bundle publish", ref),
		Err:  fmt.Errorf("%w: %w", engine.ErrInvalid, err),
	}
}

// PullBundle fetches bundle.json and its relocation map from ref.
func (c *Client) PullBundle(ctx context.Context, ref string, insecure bool) (*engine.RemoteBundle, error) {
	ctx = quiet(ctx)
	named, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	resolver := c.resolver(insecure, ref)
	_, desc, err := resolver.Resolve(ctx, named.String())
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("bundle %s not found", ref),
				"check the reference; list tags with the registry's API (GET /v2/<repository>/tags/list)")
		}
		return nil, unreachable(err, ref)
	}
	if desc.MediaType != ocispec.MediaTypeImageIndex && desc.MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" {
		return nil, notBundle(ref, fmt.Errorf("media type %s", desc.MediaType))
	}
	b, reloc, digest, err := remotes.Pull(ctx, named, resolver)
	if err != nil {
		if strings.Contains(err.Error(), "bundle config") {
			return nil, notBundle(ref, err)
		}
		return nil, unreachable(err, ref)
	}
	data, err := writeBundle(b)
	if err != nil {
		return nil, err
	}
	return &engine.RemoteBundle{Reference: ref, Digest: digest.String(), BundleJSON: data, Relocation: reloc}, nil
}

// Package enginetest holds test doubles and contract suites for the engine's
// interfaces: XxxFunc fakes (a struct of func fields; a method calls its
// field, or returns a harmless zero value when the field is nil) and
// StoreContract, which every engine.Store implementation must pass. It is
// imported by tests only and must not import Docker, cnab-go or
// database/sql.
package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/manifest"
)

var (
	_ engine.Docker          = (*DockerFunc)(nil)
	_ engine.BundleRuntime   = (*BundleRuntimeFunc)(nil)
	_ engine.HostProbe       = (*HostProbeFunc)(nil)
	_ engine.Catalog         = (*CatalogFunc)(nil)
	_ engine.BundleConverter = (*BundleConverterFunc)(nil)
	_ engine.PortProber      = (*PortProberFunc)(nil)
	_ engine.Registry        = (*RegistryFunc)(nil)
)

// DockerFunc is a fake engine.Docker.
type DockerFunc struct {
	PingFunc              func(ctx context.Context) error
	ImageExistsFunc       func(ctx context.Context, ref string) (bool, error)
	ImagesWithLabelFunc   func(ctx context.Context, label string) ([]engine.ImageInfo, error)
	RemoveImageTagFunc    func(ctx context.Context, tag string) error
	BuildImageFunc        func(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string) error
	PublishedPortsFunc    func(ctx context.Context) ([]engine.PublishedPort, error)
	ProjectContainersFunc func(ctx context.Context, project string) ([]engine.ContainerState, error)
	ManagedContainersFunc func(ctx context.Context) ([]engine.ContainerState, error)
	RemoveProjectFunc     func(ctx context.Context, project string, purge bool) error
	RemoveInvocationsFunc func(ctx context.Context, runIDs []string) error
	EventsFunc            func(ctx context.Context) (<-chan engine.ContainerEvent, <-chan error)
	InfoFunc              func(ctx context.Context) (engine.EngineInfo, error)
	SocketPathFunc        func() string
	ContainerLogsFunc     func(ctx context.Context, container string, tail int, follow bool) (io.ReadCloser, error)
}

// Ping calls PingFunc; nil answers as a healthy daemon.
func (d *DockerFunc) Ping(ctx context.Context) error {
	if d.PingFunc == nil {
		return nil
	}
	return d.PingFunc(ctx)
}

// ImageExists calls ImageExistsFunc; nil reports no image.
func (d *DockerFunc) ImageExists(ctx context.Context, ref string) (bool, error) {
	if d.ImageExistsFunc == nil {
		return false, nil
	}
	return d.ImageExistsFunc(ctx, ref)
}

// ImagesWithLabel calls ImagesWithLabelFunc; nil lists none.
func (d *DockerFunc) ImagesWithLabel(ctx context.Context, label string) ([]engine.ImageInfo, error) {
	if d.ImagesWithLabelFunc == nil {
		return nil, nil
	}
	return d.ImagesWithLabelFunc(ctx, label)
}

// RemoveImageTag calls RemoveImageTagFunc; nil succeeds.
func (d *DockerFunc) RemoveImageTag(ctx context.Context, tag string) error {
	if d.RemoveImageTagFunc == nil {
		return nil
	}
	return d.RemoveImageTagFunc(ctx, tag)
}

// BuildImage calls BuildImageFunc; nil succeeds without reading the context.
func (d *DockerFunc) BuildImage(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string) error {
	if d.BuildImageFunc == nil {
		return nil
	}
	return d.BuildImageFunc(ctx, buildContext, tags, labels)
}

// PublishedPorts calls PublishedPortsFunc; nil reports none.
func (d *DockerFunc) PublishedPorts(ctx context.Context) ([]engine.PublishedPort, error) {
	if d.PublishedPortsFunc == nil {
		return nil, nil
	}
	return d.PublishedPortsFunc(ctx)
}

// ProjectContainers calls ProjectContainersFunc; nil reports none.
func (d *DockerFunc) ProjectContainers(ctx context.Context, project string) ([]engine.ContainerState, error) {
	if d.ProjectContainersFunc == nil {
		return nil, nil
	}
	return d.ProjectContainersFunc(ctx, project)
}

// ManagedContainers calls ManagedContainersFunc; nil reports none.
func (d *DockerFunc) ManagedContainers(ctx context.Context) ([]engine.ContainerState, error) {
	if d.ManagedContainersFunc == nil {
		return nil, nil
	}
	return d.ManagedContainersFunc(ctx)
}

// RemoveProject calls RemoveProjectFunc; nil succeeds.
func (d *DockerFunc) RemoveProject(ctx context.Context, project string, purge bool) error {
	if d.RemoveProjectFunc == nil {
		return nil
	}
	return d.RemoveProjectFunc(ctx, project, purge)
}

// RemoveInvocations calls RemoveInvocationsFunc; nil succeeds.
func (d *DockerFunc) RemoveInvocations(ctx context.Context, runIDs []string) error {
	if d.RemoveInvocationsFunc == nil {
		return nil
	}
	return d.RemoveInvocationsFunc(ctx, runIDs)
}

// Events calls EventsFunc; nil returns channels that carry nothing and
// close when ctx ends, as the real stream does.
func (d *DockerFunc) Events(ctx context.Context) (<-chan engine.ContainerEvent, <-chan error) {
	if d.EventsFunc != nil {
		return d.EventsFunc(ctx)
	}
	events := make(chan engine.ContainerEvent)
	errs := make(chan error)
	go func() {
		<-ctx.Done()
		close(events)
		close(errs)
	}()
	return events, errs
}

// Info calls InfoFunc; nil returns a zero EngineInfo.
func (d *DockerFunc) Info(ctx context.Context) (engine.EngineInfo, error) {
	if d.InfoFunc == nil {
		return engine.EngineInfo{}, nil
	}
	return d.InfoFunc(ctx)
}

// SocketPath calls SocketPathFunc; nil returns "".
func (d *DockerFunc) SocketPath() string {
	if d.SocketPathFunc == nil {
		return ""
	}
	return d.SocketPathFunc()
}

// ContainerLogs calls ContainerLogsFunc; nil returns an empty log.
func (d *DockerFunc) ContainerLogs(ctx context.Context, container string, tail int, follow bool) (io.ReadCloser, error) {
	if d.ContainerLogsFunc == nil {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return d.ContainerLogsFunc(ctx, container, tail, follow)
}

// BundleRuntimeFunc is a fake engine.BundleRuntime.
type BundleRuntimeFunc struct {
	RunFunc func(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error)
}

// Run calls RunFunc; nil succeeds with no outputs.
func (b *BundleRuntimeFunc) Run(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error) {
	if b.RunFunc == nil {
		return &engine.OperationResult{}, nil
	}
	return b.RunFunc(ctx, op)
}

// HostProbeFunc is a fake engine.HostProbe.
type HostProbeFunc struct {
	SampleFunc func(ctx context.Context) (*engine.ServerStatus, error)
}

// Sample calls SampleFunc; nil returns an all-zero status.
func (h *HostProbeFunc) Sample(ctx context.Context) (*engine.ServerStatus, error) {
	if h.SampleFunc == nil {
		return &engine.ServerStatus{}, nil
	}
	return h.SampleFunc(ctx)
}

// CatalogFunc is a fake engine.Catalog.
type CatalogFunc struct {
	ListFunc func(ctx context.Context) ([]engine.App, error)
	OpenFunc func(ctx context.Context, name string) (fs.FS, error)
}

// List calls ListFunc; nil returns an empty catalog.
func (c *CatalogFunc) List(ctx context.Context) ([]engine.App, error) {
	if c.ListFunc == nil {
		return nil, nil
	}
	return c.ListFunc(ctx)
}

// Open calls OpenFunc; nil answers ErrNotFound, as an empty catalog would.
func (c *CatalogFunc) Open(ctx context.Context, name string) (fs.FS, error) {
	if c.OpenFunc == nil {
		return nil, fmt.Errorf("open app %q: %w", name, engine.ErrNotFound)
	}
	return c.OpenFunc(ctx, name)
}

// BundleConverterFunc is a fake engine.BundleConverter.
type BundleConverterFunc struct {
	ConvertFunc func(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error)
}

// Convert calls ConvertFunc; nil returns a minimal bundle.json naming the
// manifest's bundle.
func (b *BundleConverterFunc) Convert(m *manifest.Manifest, req engine.ConvertRequest) ([]byte, error) {
	if b.ConvertFunc == nil {
		return json.Marshal(map[string]string{"schemaVersion": "v1.2.0", "name": m.Name, "version": m.Version})
	}
	return b.ConvertFunc(m, req)
}

// PortProberFunc is a fake engine.PortProber.
type PortProberFunc struct {
	FreeFunc func(port int, protocol string) bool
}

// Free calls FreeFunc; nil reports every port free.
func (p *PortProberFunc) Free(port int, protocol string) bool {
	if p.FreeFunc == nil {
		return true
	}
	return p.FreeFunc(port, protocol)
}

// RegistryFunc is a fake engine.Registry. Its methods call their field; a
// nil field answers engine.ErrUnavailable (Exists: false, nil).
type RegistryFunc struct {
	ExistsFunc       func(ctx context.Context, ref string, insecure bool) (bool, error)
	PushImageFunc    func(ctx context.Context, local, target string) (string, error)
	PushBundleFunc   func(ctx context.Context, ref string, b *engine.RemoteBundle, insecure bool) (*engine.RemoteBundle, error)
	TagsFunc         func(ctx context.Context, repo string, insecure bool) ([]string, error)
	PullBundleFunc   func(ctx context.Context, ref string, insecure bool) (*engine.RemoteBundle, error)
	PullImageFunc    func(ctx context.Context, ref, tag string) error
	WriteArchiveFunc func(ctx context.Context, w io.Writer, b *engine.RemoteBundle, opts engine.ArchiveWriteOptions) error
	ReadArchiveFunc  func(ctx context.Context, path string) (*engine.RemoteBundle, error)
	LoadArchiveFunc  func(ctx context.Context, path string, tags map[string]string) error
	PushArchiveFunc  func(ctx context.Context, path, ref string, insecure bool) (*engine.RemoteBundle, error)
	// PushArtifactFunc and FetchArtifactFunc serve the catalog index.
	PushArtifactFunc  func(ctx context.Context, ref, mediaType, title string, data []byte, insecure bool) (string, error)
	FetchArtifactFunc func(ctx context.Context, ref, mediaType string, insecure bool) ([]byte, string, error)
}

// PushArtifact calls PushArtifactFunc.
func (r *RegistryFunc) PushArtifact(ctx context.Context, ref, mediaType, title string, data []byte, insecure bool) (string, error) {
	if r.PushArtifactFunc == nil {
		return "", unavailable("push artifact")
	}
	return r.PushArtifactFunc(ctx, ref, mediaType, title, data, insecure)
}

// FetchArtifact calls FetchArtifactFunc.
func (r *RegistryFunc) FetchArtifact(ctx context.Context, ref, mediaType string, insecure bool) ([]byte, string, error) {
	if r.FetchArtifactFunc == nil {
		return nil, "", unavailable("fetch artifact")
	}
	return r.FetchArtifactFunc(ctx, ref, mediaType, insecure)
}

func unavailable(op string) error {
	return fmt.Errorf("fake registry %s: %w", op, engine.ErrUnavailable)
}

// Exists calls ExistsFunc; nil reports false.
func (r *RegistryFunc) Exists(ctx context.Context, ref string, insecure bool) (bool, error) {
	if r.ExistsFunc == nil {
		return false, nil
	}
	return r.ExistsFunc(ctx, ref, insecure)
}

// PushImage calls PushImageFunc.
func (r *RegistryFunc) PushImage(ctx context.Context, local, target string) (string, error) {
	if r.PushImageFunc == nil {
		return "", unavailable("push image")
	}
	return r.PushImageFunc(ctx, local, target)
}

// PushBundle calls PushBundleFunc.
func (r *RegistryFunc) PushBundle(ctx context.Context, ref string, b *engine.RemoteBundle, insecure bool) (*engine.RemoteBundle, error) {
	if r.PushBundleFunc == nil {
		return nil, unavailable("push bundle")
	}
	return r.PushBundleFunc(ctx, ref, b, insecure)
}

// PullBundle calls PullBundleFunc.
func (r *RegistryFunc) PullBundle(ctx context.Context, ref string, insecure bool) (*engine.RemoteBundle, error) {
	if r.PullBundleFunc == nil {
		return nil, unavailable("pull bundle")
	}
	return r.PullBundleFunc(ctx, ref, insecure)
}

// Tags calls TagsFunc.
func (r *RegistryFunc) Tags(ctx context.Context, repo string, insecure bool) ([]string, error) {
	if r.TagsFunc == nil {
		return nil, unavailable("list tags")
	}
	return r.TagsFunc(ctx, repo, insecure)
}

// PullImage calls PullImageFunc.
func (r *RegistryFunc) PullImage(ctx context.Context, ref, tag string) error {
	if r.PullImageFunc == nil {
		return unavailable("pull image")
	}
	return r.PullImageFunc(ctx, ref, tag)
}

// WriteArchive calls WriteArchiveFunc.
func (r *RegistryFunc) WriteArchive(ctx context.Context, w io.Writer, b *engine.RemoteBundle, opts engine.ArchiveWriteOptions) error {
	if r.WriteArchiveFunc == nil {
		return unavailable("write archive")
	}
	return r.WriteArchiveFunc(ctx, w, b, opts)
}

// ReadArchive calls ReadArchiveFunc.
func (r *RegistryFunc) ReadArchive(ctx context.Context, path string) (*engine.RemoteBundle, error) {
	if r.ReadArchiveFunc == nil {
		return nil, unavailable("read archive")
	}
	return r.ReadArchiveFunc(ctx, path)
}

// LoadArchive calls LoadArchiveFunc.
func (r *RegistryFunc) LoadArchive(ctx context.Context, path string, tags map[string]string) error {
	if r.LoadArchiveFunc == nil {
		return unavailable("load archive")
	}
	return r.LoadArchiveFunc(ctx, path, tags)
}

// PushArchive calls PushArchiveFunc.
func (r *RegistryFunc) PushArchive(ctx context.Context, path, ref string, insecure bool) (*engine.RemoteBundle, error) {
	if r.PushArchiveFunc == nil {
		return nil, unavailable("push archive")
	}
	return r.PushArchiveFunc(ctx, path, ref, insecure)
}

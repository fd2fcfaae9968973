package enginetest

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// MemDocker is an in-memory engine.Docker: containers that tests add, and
// images that BuildImage makes. It passes DockerContract, as engine/docker
// does against the real Engine, so a test written over it means the same
// against the real thing.
type MemDocker struct {
	mu         sync.Mutex
	containers map[string]*engine.ContainerState // by name
	volumes    map[string]string                 // volume -> project
	images     map[string]*engine.ImageInfo      // by ID
	nextID     int
	events     []chan engine.ContainerEvent
}

var _ engine.Docker = (*MemDocker)(nil)

// NewMemDocker returns an empty MemDocker.
func NewMemDocker() *MemDocker {
	return &MemDocker{containers: map[string]*engine.ContainerState{}, volumes: map[string]string{}, images: map[string]*engine.ImageInfo{}}
}

// AddContainer adds a container of a compose project, as compose would
// create it; running says whether it was started. Volumes named in c.Mounts
// belong to the project.
func (d *MemDocker) AddContainer(c engine.ContainerState, running bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	c.ID = fmt.Sprintf("c%04d", d.nextID)
	c.State = "created"
	if running {
		c.State = "running"
	}
	labels := maps.Clone(c.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[contract.LabelProject] = c.Project
	labels[contract.LabelService] = c.Service
	c.Labels = labels
	for _, v := range c.Mounts {
		d.volumes[v] = c.Project
	}
	d.containers[c.Name] = &c
	d.emit(engine.ContainerEvent{ContainerID: c.ID, Name: c.Name, Project: c.Project, Action: "create"})
	if running {
		d.emit(engine.ContainerEvent{ContainerID: c.ID, Name: c.Name, Project: c.Project, Action: "start"})
	}
}

// Volumes lists the project's volumes.
func (d *MemDocker) Volumes(project string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for v, p := range d.volumes {
		if p == project {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// emit sends ev to every subscriber; the caller holds mu.
func (d *MemDocker) emit(ev engine.ContainerEvent) {
	if ev.Project == "" {
		return
	}
	for _, ch := range d.events {
		select {
		case ch <- ev:
		default: // a subscriber that does not read loses events, as with the daemon
		}
	}
}

// Ping answers at once.
func (d *MemDocker) Ping(context.Context) error { return nil }

// ImageExists reports whether a tag (or an ID) is present.
func (d *MemDocker) ImageExists(_ context.Context, ref string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.imageByRef(ref) != nil, nil
}

func (d *MemDocker) imageByRef(ref string) *engine.ImageInfo {
	for _, im := range d.images {
		if im.ID == ref || slices.Contains(im.Tags, ref) {
			return im
		}
	}
	return nil
}

// BuildImage reads the build context (it must hold a Dockerfile) and makes
// an image with the tags and labels; a tag another image had moves over.
func (d *MemDocker) BuildImage(_ context.Context, buildContext io.Reader, tags []string, labels map[string]string) error {
	tr := tar.NewReader(buildContext)
	dockerfile := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("build image %s: read build context: %w", strings.Join(tags, ", "), err)
		}
		if h.Name == "Dockerfile" {
			dockerfile = true
		}
	}
	if !dockerfile {
		return fmt.Errorf("build image %s: the build context has no Dockerfile: %w", strings.Join(tags, ", "), engine.ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, im := range d.images {
		im.Tags = slices.DeleteFunc(im.Tags, func(t string) bool { return slices.Contains(tags, t) })
	}
	d.nextID++
	id := fmt.Sprintf("sha256:%064d", d.nextID)
	d.images[id] = &engine.ImageInfo{ID: id, Tags: slices.Clone(tags), Labels: maps.Clone(labels), Created: time.Now().UTC()}
	return nil
}

// PublishedPorts lists the ports of every container, running or not.
func (d *MemDocker) PublishedPorts(context.Context) ([]engine.PublishedPort, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []engine.PublishedPort
	for _, c := range d.sorted() {
		for _, p := range c.Ports {
			out = append(out, engine.PublishedPort{Port: p.Port, Protocol: p.Protocol, Container: c.Name})
		}
	}
	return out, nil
}

// sorted returns the containers by name; the caller holds mu.
func (d *MemDocker) sorted() []*engine.ContainerState {
	out := slices.Collect(maps.Values(d.containers))
	slices.SortFunc(out, func(a, b *engine.ContainerState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ProjectContainers lists a project's containers by name.
func (d *MemDocker) ProjectContainers(_ context.Context, project string) ([]engine.ContainerState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []engine.ContainerState
	for _, c := range d.sorted() {
		if c.Project == project {
			out = append(out, *c)
		}
	}
	return out, nil
}

// ManagedContainers lists the containers that carry StackHub's label.
func (d *MemDocker) ManagedContainers(context.Context) ([]engine.ContainerState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []engine.ContainerState
	for _, c := range d.sorted() {
		if c.Labels[contract.LabelManaged] == "true" {
			out = append(out, *c)
		}
	}
	return out, nil
}

// RemoveProject removes the project's containers, and its volumes when
// purge is set.
func (d *MemDocker) RemoveProject(_ context.Context, project string, purge bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, c := range d.containers {
		if c.Project == project {
			delete(d.containers, name)
			d.emit(engine.ContainerEvent{ContainerID: c.ID, Name: c.Name, Project: c.Project, Action: "destroy"})
		}
	}
	if purge {
		for v, p := range d.volumes {
			if p == project {
				delete(d.volumes, v)
			}
		}
	}
	return nil
}

// RemoveInvocations removes the invocation containers of the runs.
func (d *MemDocker) RemoveInvocations(_ context.Context, runIDs []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, c := range d.containers {
		if c.Labels[contract.LabelInvocation] == "true" && slices.Contains(runIDs, c.Labels[contract.LabelRun]) {
			delete(d.containers, name)
		}
	}
	return nil
}

// Events streams the container events of projects until ctx ends.
func (d *MemDocker) Events(ctx context.Context) (<-chan engine.ContainerEvent, <-chan error) {
	ch := make(chan engine.ContainerEvent, 64)
	errc := make(chan error, 1)
	d.mu.Lock()
	d.events = append(d.events, ch)
	d.mu.Unlock()
	go func() {
		<-ctx.Done()
		d.mu.Lock()
		d.events = slices.DeleteFunc(d.events, func(c chan engine.ContainerEvent) bool { return c == ch })
		d.mu.Unlock()
		errc <- ctx.Err()
	}()
	return ch, errc
}

// Info counts containers and images.
func (d *MemDocker) Info(context.Context) (engine.EngineInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	info := engine.EngineInfo{Version: "memory", Containers: len(d.containers), Images: len(d.images)}
	for _, c := range d.containers {
		if c.State == "running" {
			info.Running++
		}
	}
	return info, nil
}

// SocketPath is empty: nothing can mount an in-memory daemon.
func (d *MemDocker) SocketPath() string { return "" }

// ContainerLogs has no log lines to give; it knows the container, though.
func (d *MemDocker) ContainerLogs(_ context.Context, container string, _ int, _ bool) (io.ReadCloser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.containers[container]; !ok {
		return nil, fmt.Errorf("logs of %s: no such container: %w", container, engine.ErrNotFound)
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// ImagesWithLabel lists the images that carry label.
func (d *MemDocker) ImagesWithLabel(_ context.Context, label string) ([]engine.ImageInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []engine.ImageInfo
	for _, im := range d.images {
		if _, ok := im.Labels[label]; ok {
			out = append(out, engine.ImageInfo{ID: im.ID, Tags: slices.Clone(im.Tags), Labels: maps.Clone(im.Labels), Created: im.Created})
		}
	}
	slices.SortFunc(out, func(a, b engine.ImageInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// RemoveImageTag removes one tag; the image goes with its last one, unless
// a container was made from it (by that tag or its ID).
func (d *MemDocker) RemoveImageTag(_ context.Context, tag string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	im := d.imageByRef(tag)
	if im == nil {
		return fmt.Errorf("remove image %s: %w", tag, engine.ErrNotFound)
	}
	if len(im.Tags) == 1 {
		for _, c := range d.containers {
			if c.Labels[memImageLabel] == im.ID || c.Labels[memImageLabel] == tag {
				return fmt.Errorf("remove image %s: container %s uses it: %w", tag, c.Name, engine.ErrConflict)
			}
		}
		delete(d.images, im.ID)
		return nil
	}
	im.Tags = slices.DeleteFunc(im.Tags, func(t string) bool { return t == tag })
	return nil
}

// memImageLabel, on a container AddContainer made, names the image it
// runs (the fake's stand-in for a container's image).
const memImageLabel = "sh.stackhub.test.image"

// Package composetest fakes the Docker Engine API for tests of package
// compose and of the mixin: Docker is an in-memory daemon (containers,
// networks, volumes, images) that records every call that changes
// something, with XxxFunc fields to override single methods. It imports no
// real Docker client code beyond the API types.
package composetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/mixin/compose"
)

// Call is one recorded call that changes the daemon's state.
type Call struct {
	Op     string `json:"op"`
	Target string `json:"target"`
	Body   any    `json:"body,omitempty"`
}

// Container is a fake container.
type Container struct {
	ID      string
	Name    string
	Config  *container.Config
	Host    *container.HostConfig
	Running bool
	Exited  bool
	// Health is the health status once running ("" means no healthcheck
	// or healthy when one is configured).
	Health container.HealthStatus
	Logs   string
}

// Docker is an in-memory fake daemon. The zero value is ready to use.
type Docker struct {
	mu         sync.Mutex
	Calls      []Call
	Containers []*Container
	Networks   map[string]map[string]string // name -> labels
	Volumes    map[string]map[string]string // name -> labels
	// Images maps references to image IDs; others are not found.
	Images map[string]string
	// PullErr is returned when an image is pulled (default: not found).
	PullErr error
	// HealthOf decides the health a started container reports; nil means
	// healthy when it has a healthcheck.
	HealthOf func(c *Container) container.HealthStatus
	// StartErr fails the next ContainerStart of that container name, once.
	StartErr map[string]error
	seq      int

	ContainerListFunc   func(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerCreateFunc func(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
}

var _ compose.Docker = (*Docker)(nil)

func (d *Docker) record(op, target string, body any) {
	d.Calls = append(d.Calls, Call{Op: op, Target: target, Body: body})
}

func (d *Docker) find(idOrName string) *Container {
	for _, c := range d.Containers {
		if c.ID == idOrName || c.Name == idOrName {
			return c
		}
	}
	return nil
}

func notFound(what, id string) error {
	return cerrdefs.ErrNotFound.WithMessage(fmt.Sprintf("No such %s: %s", what, id))
}

func matches(labels map[string]string, name string, f client.Filters) bool {
	for _, want := range slices.Sorted(maps.Keys(f["label"])) {
		k, v, hasV := strings.Cut(want, "=")
		got, ok := labels[k]
		if !ok || hasV && got != v {
			return false
		}
	}
	if len(f["name"]) > 0 {
		hit := false
		for n := range f["name"] {
			if strings.Contains(name, n) {
				hit = true
			}
		}
		return hit
	}
	return true
}

func (c *Container) state() container.ContainerState {
	switch {
	case c.Running:
		return container.StateRunning
	case c.Exited:
		return container.StateExited
	}
	return container.StateCreated
}

// ContainerList implements compose.Docker.
func (d *Docker) ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	if d.ContainerListFunc != nil {
		return d.ContainerListFunc(ctx, options)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var res client.ContainerListResult
	for _, c := range d.Containers {
		if !options.All && !c.Running {
			continue
		}
		if !matches(c.Config.Labels, c.Name, options.Filters) {
			continue
		}
		s := container.Summary{ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Config.Image,
			Labels: c.Config.Labels, State: c.state(), Status: string(c.state())}
		if c.Running && c.Host != nil {
			for port, bs := range c.Host.PortBindings {
				for _, b := range bs {
					hp, _ := strconv.Atoi(b.HostPort)
					s.Ports = append(s.Ports, container.PortSummary{PrivatePort: port.Num(), PublicPort: uint16(hp), Type: string(port.Proto())})
				}
			}
		}
		res.Items = append(res.Items, s)
	}
	return res, nil
}

// ContainerInspect implements compose.Docker.
func (d *Docker) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.find(id)
	if c == nil {
		return client.ContainerInspectResult{}, notFound("container", id)
	}
	st := &container.State{Status: c.state(), Running: c.Running}
	if c.Running && c.Config.Healthcheck != nil && (len(c.Config.Healthcheck.Test) == 0 || c.Config.Healthcheck.Test[0] != "NONE") {
		h := container.Healthy
		if d.HealthOf != nil {
			h = d.HealthOf(c)
		}
		st.Health = &container.Health{Status: h}
		if h == container.Unhealthy {
			st.Health.Log = []*container.HealthcheckResult{{ExitCode: 1, Output: "error: this healthcheck always fails"}}
		}
	}
	if c.Exited {
		st.ExitCode = 1
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{
		ID: c.ID, Name: "/" + c.Name, State: st, Config: c.Config, HostConfig: c.Host,
	}}, nil
}

// ContainerCreate implements compose.Docker.
func (d *Docker) ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	if d.ContainerCreateFunc != nil {
		return d.ContainerCreateFunc(ctx, options)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if options.Name == compose.LockName {
		// The port lock is not part of what the goldens show.
		if d.find(options.Name) != nil {
			return client.ContainerCreateResult{}, cerrdefs.ErrConflict.WithMessage("name in use")
		}
		d.Containers = append(d.Containers, &Container{ID: "lock", Name: options.Name, Config: options.Config, Host: options.HostConfig})
		return client.ContainerCreateResult{ID: "lock"}, nil
	}
	if d.find(options.Name) != nil {
		return client.ContainerCreateResult{}, cerrdefs.ErrConflict.WithMessage(fmt.Sprintf("Conflict. The container name %q is already in use", "/"+options.Name))
	}
	d.seq++
	id := fmt.Sprintf("c%02d", d.seq)
	d.Containers = append(d.Containers, &Container{ID: id, Name: options.Name, Config: options.Config, Host: options.HostConfig,
		Logs: options.Name + " started\n"})
	d.record("ContainerCreate", options.Name, options)
	return client.ContainerCreateResult{ID: id}, nil
}

// ContainerStart implements compose.Docker.
func (d *Docker) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.find(id)
	if c == nil {
		return client.ContainerStartResult{}, notFound("container", id)
	}
	d.record("ContainerStart", c.Name, nil)
	if err := d.StartErr[c.Name]; err != nil {
		delete(d.StartErr, c.Name)
		return client.ContainerStartResult{}, err
	}
	c.Running, c.Exited = true, false
	return client.ContainerStartResult{}, nil
}

// ContainerStop implements compose.Docker.
func (d *Docker) ContainerStop(_ context.Context, id string, _ client.ContainerStopOptions) (client.ContainerStopResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.find(id)
	if c == nil {
		return client.ContainerStopResult{}, notFound("container", id)
	}
	d.record("ContainerStop", c.Name, nil)
	c.Running, c.Exited = false, true
	return client.ContainerStopResult{}, nil
}

// ContainerRename implements compose.Docker.
func (d *Docker) ContainerRename(_ context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.find(id)
	if c == nil {
		return client.ContainerRenameResult{}, notFound("container", id)
	}
	if other := d.find(options.NewName); other != nil && other != c {
		return client.ContainerRenameResult{}, fmt.Errorf("conflict: the container name %q is already in use", options.NewName)
	}
	d.record("ContainerRename", c.Name, options.NewName)
	c.Name = options.NewName
	return client.ContainerRenameResult{}, nil
}

// ContainerRemove implements compose.Docker.
func (d *Docker) ContainerRemove(_ context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.find(id)
	if c == nil {
		return client.ContainerRemoveResult{}, notFound("container", id)
	}
	if c.Name != compose.LockName {
		d.record("ContainerRemove", c.Name, options)
	}
	d.Containers = slices.DeleteFunc(d.Containers, func(x *Container) bool { return x == c })
	return client.ContainerRemoveResult{}, nil
}

// ContainerLogs implements compose.Docker: the container's Logs as one
// stdout frame.
func (d *Docker) ContainerLogs(_ context.Context, id string, _ client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.find(id)
	if c == nil {
		return nil, notFound("container", id)
	}
	var buf bytes.Buffer
	if c.Logs != "" {
		hdr := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		n := len(c.Logs)
		hdr[4], hdr[5], hdr[6], hdr[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		buf.Write(hdr)
		buf.WriteString(c.Logs)
	}
	return io.NopCloser(&buf), nil
}

// ImageInspect implements compose.Docker.
func (d *Docker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.Images[ref]
	if !ok {
		return client.ImageInspectResult{}, notFound("image", ref)
	}
	var res client.ImageInspectResult
	res.ID = id
	return res, nil
}

// ImagePull implements compose.Docker; it fails with PullErr.
func (d *Docker) ImagePull(_ context.Context, ref string, _ client.ImagePullOptions) (client.ImagePullResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("ImagePull", ref, nil)
	if d.PullErr != nil {
		return nil, d.PullErr
	}
	return nil, cerrdefs.ErrNotFound.WithMessage("pull access denied for " + ref + ", repository does not exist")
}

// ImageTag implements compose.Docker.
func (d *Docker) ImageTag(_ context.Context, options client.ImageTagOptions) (client.ImageTagResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("ImageTag", options.Target, options.Source)
	id, ok := d.Images[options.Source]
	if !ok {
		return client.ImageTagResult{}, notFound("image", options.Source)
	}
	d.Images[options.Target] = id
	return client.ImageTagResult{}, nil
}

// NetworkList implements compose.Docker.
func (d *Docker) NetworkList(_ context.Context, options client.NetworkListOptions) (client.NetworkListResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var res client.NetworkListResult
	for _, name := range slices.Sorted(maps.Keys(d.Networks)) {
		if matches(d.Networks[name], name, options.Filters) {
			res.Items = append(res.Items, network.Summary{Network: network.Network{Name: name, ID: "net-" + name, Labels: d.Networks[name]}})
		}
	}
	return res, nil
}

// NetworkCreate implements compose.Docker.
func (d *Docker) NetworkCreate(_ context.Context, name string, options client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Networks == nil {
		d.Networks = map[string]map[string]string{}
	}
	d.Networks[name] = options.Labels
	d.record("NetworkCreate", name, options)
	return client.NetworkCreateResult{ID: "net-" + name}, nil
}

// NetworkConnect implements compose.Docker.
func (d *Docker) NetworkConnect(_ context.Context, id string, options client.NetworkConnectOptions) (client.NetworkConnectResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("NetworkConnect", id, options)
	return client.NetworkConnectResult{}, nil
}

// NetworkRemove implements compose.Docker.
func (d *Docker) NetworkRemove(_ context.Context, id string, _ client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := strings.TrimPrefix(id, "net-")
	if _, ok := d.Networks[name]; !ok {
		return client.NetworkRemoveResult{}, notFound("network", id)
	}
	delete(d.Networks, name)
	d.record("NetworkRemove", name, nil)
	return client.NetworkRemoveResult{}, nil
}

// VolumeList implements compose.Docker.
func (d *Docker) VolumeList(_ context.Context, options client.VolumeListOptions) (client.VolumeListResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var res client.VolumeListResult
	for _, name := range slices.Sorted(maps.Keys(d.Volumes)) {
		if matches(d.Volumes[name], name, options.Filters) {
			res.Items = append(res.Items, volume.Volume{Name: name, Driver: "local", Labels: d.Volumes[name]})
		}
	}
	return res, nil
}

// VolumeCreate implements compose.Docker.
func (d *Docker) VolumeCreate(_ context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Volumes == nil {
		d.Volumes = map[string]map[string]string{}
	}
	d.Volumes[options.Name] = options.Labels
	// Goldens never show secret values or times.
	body := options
	body.Labels = maps.Clone(options.Labels)
	for k := range body.Labels {
		switch {
		case strings.HasPrefix(k, compose.LabelSecretPrefix):
			body.Labels[k] = "<redacted>"
		case strings.HasSuffix(k, ".expires"):
			body.Labels[k] = "<time>"
		}
	}
	d.record("VolumeCreate", options.Name, body)
	return client.VolumeCreateResult{Volume: volume.Volume{Name: options.Name, Labels: options.Labels}}, nil
}

// VolumeRemove implements compose.Docker.
func (d *Docker) VolumeRemove(_ context.Context, id string, _ client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.Volumes[id]; !ok {
		return client.VolumeRemoveResult{}, notFound("volume", id)
	}
	delete(d.Volumes, id)
	d.record("VolumeRemove", id, nil)
	return client.VolumeRemoveResult{}, nil
}

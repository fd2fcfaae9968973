// Package docker is the engine's adapter to the Docker Engine API: image
// builds, the containers and ports of compose projects, events and engine
// facts. It is the only engine package that imports the Docker client, and
// it translates Docker's errors into engine sentinels.
package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// Client is the engine.Docker implementation over the Engine API.
type Client struct {
	api    *client.Client
	socket string

	buildKit buildKitProbe
}

var (
	_ engine.Docker          = (*Client)(nil)
	_ engine.RemoteImager    = (*Client)(nil)
	_ engine.BuildKitBuilder = (*Client)(nil)
)

// New connects to the daemon named by DOCKER_HOST (default the local socket),
// negotiating the API version so old engines work.
func New() (*Client, error) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w", err)
	}
	return &Client{api: api, socket: socketPath(api.DaemonHost())}, nil
}

// API returns the underlying Engine API client.
func (c *Client) API() *client.Client { return c.api }

// Close releases the client's connections.
func (c *Client) Close() error { return c.api.Close() }

func socketPath(host string) string {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		return ""
	}
	return u.Path
}

// SocketPath is the daemon's unix socket, or "" for a TCP daemon.
func (c *Client) SocketPath() string { return c.socket }

// Ping checks the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx, client.PingOptions{}); err != nil {
		return wrap(err, "ping docker")
	}
	return nil
}

// ImageExists reports whether ref is present locally.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := c.api.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return false, wrap(err, fmt.Sprintf("inspect image %q", ref))
}

// RemoteImage asks the image's registry, through the daemon (its proxy
// settings apply), for the platforms the image exists for; an error says
// the registry cannot be reached or has no such image.
func (c *Client) RemoteImage(ctx context.Context, ref string) (engine.RemoteImage, error) {
	res, err := c.api.DistributionInspect(ctx, ref, client.DistributionInspectOptions{})
	if err != nil {
		return engine.RemoteImage{}, wrap(err, fmt.Sprintf("look up image %q in its registry", ref))
	}
	out := engine.RemoteImage{Ref: ref}
	for _, p := range res.Platforms {
		if p.Architecture != "" && p.Architecture != "unknown" {
			out.Architectures = append(out.Architectures, p.Architecture)
		}
	}
	return out, nil
}

// ImagesWithLabel lists the local images that carry the label.
func (c *Client) ImagesWithLabel(ctx context.Context, label string) ([]engine.ImageInfo, error) {
	res, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return nil, wrap(err, "list images")
	}
	out := make([]engine.ImageInfo, 0, len(res.Items))
	for _, im := range res.Items {
		out = append(out, engine.ImageInfo{ID: im.ID, Tags: im.RepoTags, Labels: im.Labels, Created: time.Unix(im.Created, 0)})
	}
	return out, nil
}

// RemoveImageTag removes one tag, and the image with its last tag; an
// image in use by a container is ErrConflict.
func (c *Client) RemoveImageTag(ctx context.Context, tag string) error {
	_, err := c.api.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("remove image %s: %w: %w", tag, engine.ErrConflict, err)
	}
	return wrap(err, fmt.Sprintf("remove image %s", tag))
}

// BuildImage builds with the Engine's builder from a tar context that has a
// Dockerfile at its root.
func (c *Client) BuildImage(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string) error {
	return c.buildImage(ctx, buildContext, tags, labels, build.BuilderV1) // the classic builder: no BuildKit needed
}

func (c *Client) buildImage(ctx context.Context, buildContext io.Reader, tags []string, labels map[string]string, version build.BuilderVersion) error {
	res, err := c.api.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        tags,
		Remove:      true,
		ForceRemove: true,
		Dockerfile:  "Dockerfile",
		Labels:      labels,
		Version:     version,
	})
	if err != nil {
		return wrap(err, fmt.Sprintf("build image %s", strings.Join(tags, ", ")))
	}
	defer res.Body.Close()
	// The build reports errors inside its JSON message stream.
	dec := json.NewDecoder(res.Body)
	var last []string
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("build image %s: read build output: %w", strings.Join(tags, ", "), err)
		}
		if msg.Stream != "" {
			last = append(last, strings.TrimRight(msg.Stream, "\n"))
			if len(last) > 10 {
				last = last[1:]
			}
		}
		if msg.Error != "" {
			return fmt.Errorf("build image %s: %s (last output: %s)", strings.Join(tags, ", "), msg.Error, strings.Join(last, " | "))
		}
	}
}

// PublishedPorts lists the host ports every container publishes. Running
// containers report their live bindings; stopped ones are inspected for the
// bindings they will claim when started again.
func (c *Client) PublishedPorts(ctx context.Context) ([]engine.PublishedPort, error) {
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	var out []engine.PublishedPort
	for _, s := range list.Items {
		name := containerName(s.Names)
		if s.State == container.StateRunning {
			for _, p := range s.Ports {
				if p.PublicPort != 0 {
					out = append(out, engine.PublishedPort{Port: int(p.PublicPort), Protocol: p.Type, Container: name})
				}
			}
			continue
		}
		insp, err := c.api.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				continue // removed meanwhile
			}
			return nil, wrap(err, fmt.Sprintf("inspect container %s", name))
		}
		if insp.Container.HostConfig == nil {
			continue
		}
		for port, bindings := range insp.Container.HostConfig.PortBindings {
			for _, b := range bindings {
				n, err := strconv.Atoi(b.HostPort)
				if err != nil || n == 0 {
					continue
				}
				out = append(out, engine.PublishedPort{Port: n, Protocol: string(port.Proto()), Container: name})
			}
		}
	}
	return out, nil
}

// ProjectContainers lists the containers of one compose project.
func (c *Client) ProjectContainers(ctx context.Context, project string) ([]engine.ContainerState, error) {
	f := make(client.Filters).Add("label", contract.LabelProject+"="+project)
	return c.containers(ctx, f)
}

// ManagedContainers lists every container StackHub manages.
func (c *Client) ManagedContainers(ctx context.Context) ([]engine.ContainerState, error) {
	f := make(client.Filters).Add("label", contract.LabelManaged+"=true")
	return c.containers(ctx, f)
}

func (c *Client) containers(ctx context.Context, f client.Filters) ([]engine.ContainerState, error) {
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	out := make([]engine.ContainerState, 0, len(list.Items))
	for _, s := range list.Items {
		st := engine.ContainerState{
			ID:      s.ID,
			Name:    containerName(s.Names),
			Project: s.Labels[contract.LabelProject],
			Service: s.Labels[contract.LabelService],
			State:   string(s.State),
			Health:  healthOf(s.Status),
			Labels:  s.Labels,
		}
		for _, p := range s.Ports {
			if p.PublicPort != 0 {
				addr := ""
				if p.IP.IsValid() {
					addr = p.IP.String()
				}
				st.Ports = append(st.Ports, engine.PublishedPort{Port: int(p.PublicPort), Protocol: p.Type, Container: addr, Private: int(p.PrivatePort)})
			}
		}
		if s.NetworkSettings != nil {
			for _, n := range s.NetworkSettings.Networks {
				if n != nil && n.IPAddress.Is4() {
					st.Addrs = append(st.Addrs, n.IPAddress.String())
				}
			}
			sort.Strings(st.Addrs)
		}
		for _, m := range s.Mounts {
			st.Mounts = append(st.Mounts, m.Source)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Inspect fills the fields of a container that only inspect reports
// (exit code, privileged).
func (c *Client) Inspect(ctx context.Context, id string) (engine.ContainerState, error) {
	insp, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return engine.ContainerState{}, wrap(err, fmt.Sprintf("inspect container %s", id))
	}
	r := insp.Container
	st := engine.ContainerState{ID: r.ID, Name: strings.TrimPrefix(r.Name, "/")}
	if r.Config != nil {
		st.Labels = r.Config.Labels
		st.Project = r.Config.Labels[contract.LabelProject]
		st.Service = r.Config.Labels[contract.LabelService]
	}
	if r.State != nil {
		st.State = string(r.State.Status)
		st.ExitCode = r.State.ExitCode
		if r.State.Health != nil {
			st.Health = string(r.State.Health.Status)
		}
	}
	if r.HostConfig != nil {
		st.Privileged = r.HostConfig.Privileged
	}
	return st, nil
}

func healthOf(status string) string {
	switch {
	case strings.Contains(status, "(healthy)"):
		return "healthy"
	case strings.Contains(status, "(unhealthy)"):
		return "unhealthy"
	case strings.Contains(status, "(health: starting)"):
		return "starting"
	}
	return ""
}

func containerName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return strings.TrimPrefix(names[0], "/")
}

// RemoveProject force-removes the containers and networks of a compose
// project, and its volumes when purge is set. Used to clean up after an
// invocation container that died half way.
func (c *Client) RemoveProject(ctx context.Context, project string, purge bool) error {
	f := make(client.Filters).Add("label", contract.LabelProject+"="+project)
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return wrap(err, fmt.Sprintf("list containers of %s", project))
	}
	var errs []error
	for _, s := range list.Items {
		_, err := c.api.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, wrap(err, fmt.Sprintf("remove container %s", containerName(s.Names))))
		}
	}
	nets, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		errs = append(errs, wrap(err, fmt.Sprintf("list networks of %s", project)))
	}
	for _, n := range nets.Items {
		if _, err := c.api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, wrap(err, fmt.Sprintf("remove network %s", n.Name)))
		}
	}
	if purge {
		vols, err := c.api.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		if err != nil {
			errs = append(errs, wrap(err, fmt.Sprintf("list volumes of %s", project)))
		}
		for _, v := range vols.Items {
			if _, err := c.api.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, wrap(err, fmt.Sprintf("remove volume %s", v.Name)))
			}
		}
	}
	return errors.Join(errs...)
}

// RemoveInvocations force-removes the invocation containers of the given
// runs, with their anonymous volumes.
func (c *Client) RemoveInvocations(ctx context.Context, runIDs []string) error {
	if len(runIDs) == 0 {
		return nil
	}
	want := make(map[string]bool, len(runIDs))
	for _, id := range runIDs {
		want[id] = true
	}
	f := make(client.Filters).Add("label", contract.LabelInvocation+"=true")
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return wrap(err, "list invocation containers")
	}
	var errs []error
	for _, s := range list.Items {
		if !want[s.Labels[contract.LabelRun]] {
			continue
		}
		_, err := c.api.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, wrap(err, fmt.Sprintf("remove invocation container %s", containerName(s.Names))))
		}
	}
	return errors.Join(errs...)
}

// stateEvents are the container events that change a container's state,
// health or name.
var stateEvents = []string{"create", "start", "restart", "stop", "die", "kill", "oom",
	"pause", "unpause", "destroy", "rename", "update", "health_status"}

// Events streams the container events of StackHub's projects.
func (c *Client) Events(ctx context.Context) (<-chan engine.ContainerEvent, <-chan error) {
	// Only the events that change what the engine shows: not exec_create,
	// exec_start and exec_die, which every healthcheck run emits (three per
	// container per interval: with twenty apps checked every second the
	// idle service would re-read sixty projects a second). The daemon
	// matches health_status as a prefix of "health_status: healthy".
	f := make(client.Filters).Add("type", "container").Add("label", contract.LabelManaged+"=true").
		Add("event", stateEvents...)
	res := c.api.Events(ctx, client.EventsListOptions{Filters: f})
	out := make(chan engine.ContainerEvent)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-res.Err:
				errc <- wrap(err, "docker events")
				return
			case m := <-res.Messages:
				ev := engine.ContainerEvent{
					ContainerID: m.Actor.ID,
					Name:        m.Actor.Attributes["name"],
					Project:     m.Actor.Attributes[contract.LabelProject],
					Action:      string(m.Action),
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, errc
}

// Info returns engine facts.
func (c *Client) Info(ctx context.Context) (engine.EngineInfo, error) {
	v, err := c.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return engine.EngineInfo{}, wrap(err, "docker version")
	}
	info, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return engine.EngineInfo{}, wrap(err, "docker info")
	}
	return engine.EngineInfo{
		Version:       v.Version,
		APIVersion:    v.APIVersion,
		Containers:    info.Info.Containers,
		Running:       info.Info.ContainersRunning,
		Images:        info.Info.Images,
		StorageDriver: info.Info.Driver,
		SwarmManager:  info.Info.Swarm.ControlAvailable,
		NCPU:          info.Info.NCPU,
		MemTotal:      info.Info.MemTotal,
		Architecture:  info.Info.Architecture,
		RootDir:       info.Info.DockerRootDir,
	}, nil
}

// ContainerLogs returns a container's combined stdout and stderr as plain
// text lines.
func (c *Client) ContainerLogs(ctx context.Context, name string, tail int, follow bool) (io.ReadCloser, error) {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Timestamps: false}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := c.api.ContainerLogs(ctx, name, opts)
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("logs of %s", name))
	}
	insp, err := c.api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err == nil && insp.Container.Config != nil && insp.Container.Config.Tty {
		return rc, nil
	}
	pr, pw := io.Pipe()
	go func() {
		defer rc.Close()
		pw.CloseWithError(demux(pw, rc))
	}()
	return pr, nil
}

// demux copies a multiplexed log stream (8-byte frame headers) as plain text.
func demux(w io.Writer, r io.Reader) error {
	br := bufio.NewReader(r)
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		n := int64(hdr[4])<<24 | int64(hdr[5])<<16 | int64(hdr[6])<<8 | int64(hdr[7])
		if _, err := io.CopyN(w, br, n); err != nil {
			return err
		}
	}
}

// wrap classifies a Docker error as an engine sentinel.
func wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s: %w: %w", op, engine.ErrNotFound, err)
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("%s: %w: %w", op, engine.ErrConflict, err)
	case client.IsErrConnectionFailed(err):
		return &engine.UserError{
			Msg:  fmt.Sprintf("%s: the Docker daemon is not reachable", op),
			Hint: "start Docker (systemctl start docker) or set DOCKER_HOST, then retry",
			Err:  fmt.Errorf("%w: %w", engine.ErrUnavailable, err),
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// DefaultSocket is where the local daemon listens when DOCKER_HOST is unset.
func DefaultSocket() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return socketPath(h)
	}
	return "/var/run/docker.sock"
}

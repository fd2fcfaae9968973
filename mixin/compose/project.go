package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
)

// ContainerState is one container of a project, as StackHub reports it.
type ContainerState struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Service string            `json:"service"`
	Main    bool              `json:"main"`
	Image   string            `json:"image"`
	State   string            `json:"state"`            // created, running, exited, ...
	Health  string            `json:"health,omitempty"` // starting, healthy, unhealthy
	Status  string            `json:"status"`           // Docker's human text, e.g. "Up 3 minutes"
	Ports   map[string]int    `json:"ports,omitempty"`  // named ports published by this container
	Hash    string            `json:"-"`
	Labels  map[string]string `json:"-"`
	deps    []string
}

// Containers lists every container of a project, running or not, sorted so
// that dependencies come first.
func Containers(ctx context.Context, d Docker, project string) ([]ContainerState, error) {
	res, err := d.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: projectFilter(project)})
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", project, err)
	}
	out := make([]ContainerState, 0, len(res.Items))
	for _, c := range res.Items {
		cs := ContainerState{
			ID:      c.ID,
			Service: c.Labels[contract.LabelService],
			Main:    c.Labels[contract.LabelMain] == "true",
			Image:   c.Image,
			State:   string(c.State),
			Status:  c.Status,
			Hash:    c.Labels[LabelConfigHash],
			Labels:  c.Labels,
		}
		if len(c.Names) > 0 {
			cs.Name = strings.TrimPrefix(c.Names[0], "/")
		}
		cs.Health = healthOf(c.Health, c.Status)
		cs.Ports = LabelPorts(c.Labels)
		for _, dep := range strings.Split(c.Labels[LabelDependsOn], ",") {
			if name, _, _ := strings.Cut(dep, ":"); name != "" {
				cs.deps = append(cs.deps, name)
			}
		}
		out = append(out, cs)
	}
	return sortByDeps(out), nil
}

// healthOf reads the health from the list summary, or from the status
// text on daemons older than API 1.52 that do not report it.
func healthOf(h *container.HealthSummary, status string) string {
	if h != nil && h.Status != container.NoHealthcheck && h.Status != "" {
		return string(h.Status)
	}
	switch {
	case strings.Contains(status, "(healthy)"):
		return string(container.Healthy)
	case strings.Contains(status, "(unhealthy)"):
		return string(container.Unhealthy)
	case strings.Contains(status, "(health: starting)"):
		return string(container.Starting)
	}
	return ""
}

// LabelPorts returns the named ports recorded in a container's labels.
func LabelPorts(labels map[string]string) map[string]int {
	var out map[string]int
	for k, v := range labels {
		name, ok := strings.CutPrefix(k, contract.LabelPortPrefix)
		if !ok {
			continue
		}
		var port int
		if _, err := fmt.Sscan(v, &port); err == nil && port > 0 {
			if out == nil {
				out = map[string]int{}
			}
			out[name] = port
		}
	}
	return out
}

// ProjectPorts returns the named host ports the project's containers
// publish, from their labels.
func ProjectPorts(ctx context.Context, d Docker, project string) (map[string]int, error) {
	cs, err := Containers(ctx, d, project)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, c := range cs {
		for k, v := range c.Ports {
			out[k] = v
		}
	}
	return out, nil
}

func sortByDeps(cs []ContainerState) []ContainerState {
	slices.SortFunc(cs, func(a, b ContainerState) int { return strings.Compare(a.Service, b.Service) })
	byService := map[string]int{}
	for i, c := range cs {
		byService[c.Service] = i
	}
	var out []ContainerState
	done := map[string]bool{}
	var visit func(c ContainerState, depth int)
	visit = func(c ContainerState, depth int) {
		if done[c.Service] || depth > len(cs) {
			return
		}
		done[c.Service] = true
		for _, d := range c.deps {
			if i, ok := byService[d]; ok {
				visit(cs[i], depth+1)
			}
		}
		out = append(out, c)
	}
	for _, c := range cs {
		visit(c, 0)
	}
	return out
}

// Status reports the project's containers; an empty slice means the
// project does not exist.
func Status(ctx context.Context, d Docker, project string) ([]ContainerState, error) {
	return Containers(ctx, d, project)
}

// DownOptions tune Down.
type DownOptions struct {
	// Purge also removes the project's named volumes (its data) and the
	// state volume holding its generated secrets.
	Purge bool
	// StopTimeout bounds a graceful stop; zero means Docker's default.
	StopTimeout time.Duration
}

// DownResult says what Down removed.
type DownResult struct {
	Containers, Networks, Volumes []string
}

// Down stops and removes the project's containers and networks, and with
// Purge its volumes. A project that does not exist is not an error.
func Down(ctx context.Context, d Docker, project string, opts DownOptions, out io.Writer) (DownResult, error) {
	var res DownResult
	cs, err := Containers(ctx, d, project)
	if err != nil {
		return res, err
	}
	if err := stopAll(ctx, d, cs, opts.StopTimeout, out); err != nil {
		return res, err
	}
	var errs []error
	for _, c := range slices.Backward(cs) {
		fmt.Fprintf(out, "Removing container %s\n", c.Name)
		if err := removeContainer(ctx, d, c.ID, opts.Purge); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Containers = append(res.Containers, c.Name)
	}
	nets, err := d.NetworkList(ctx, client.NetworkListOptions{Filters: projectFilter(project)})
	if err != nil {
		return res, fmt.Errorf("list networks of %s: %w", project, err)
	}
	for _, n := range nets.Items {
		fmt.Fprintf(out, "Removing network %s\n", n.Name)
		if _, err := d.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		res.Networks = append(res.Networks, n.Name)
	}
	vols, err := d.VolumeList(ctx, client.VolumeListOptions{Filters: projectFilter(project)})
	if err != nil {
		return res, fmt.Errorf("list volumes of %s: %w", project, err)
	}
	for _, v := range vols.Items {
		if !opts.Purge {
			fmt.Fprintf(out, "Keeping volume %s\n", v.Name)
			continue
		}
		fmt.Fprintf(out, "Removing volume %s\n", v.Name)
		if _, err := d.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		res.Volumes = append(res.Volumes, v.Name)
	}
	return res, errors.Join(errs...)
}

func stopAll(ctx context.Context, d Docker, cs []ContainerState, timeout time.Duration, out io.Writer) error {
	var opts client.ContainerStopOptions
	if timeout > 0 {
		secs := int(timeout.Seconds())
		opts.Timeout = &secs
	}
	for _, c := range slices.Backward(cs) {
		if c.State != "running" && c.State != "restarting" && c.State != "paused" {
			continue
		}
		fmt.Fprintf(out, "Stopping container %s\n", c.Name)
		if _, err := d.ContainerStop(ctx, c.ID, opts); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s: %w", c.Name, err)
		}
	}
	return nil
}

func notInstalled(project string) error {
	return &UserError{Msg: fmt.Sprintf("project %s has no containers", project),
		HintMsg: "install it first", Err: cerrdefs.ErrNotFound}
}

// Start starts the project's containers in dependency order and waits
// until they are running and healthy.
func Start(ctx context.Context, d Docker, project string, timeout time.Duration, out io.Writer) error {
	cs, err := Containers(ctx, d, project)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return notInstalled(project)
	}
	items := make([]startItem, 0, len(cs))
	for _, c := range cs {
		deps := map[string]string{}
		for _, dep := range strings.Split(c.Labels[LabelDependsOn], ",") {
			parts := strings.Split(dep, ":")
			if len(parts) >= 2 && parts[0] != "" {
				deps[parts[0]] = parts[1]
			}
		}
		items = append(items, startItem{service: c.Service, name: c.Name, id: c.ID, deps: deps})
	}
	return startAndWait(ctx, d, items, timeout, out)
}

// Stop stops the project's containers, dependents first.
func Stop(ctx context.Context, d Docker, project string, timeout time.Duration, out io.Writer) error {
	cs, err := Containers(ctx, d, project)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return notInstalled(project)
	}
	return stopAll(ctx, d, cs, timeout, out)
}

// Restart stops and starts the project, waiting as Start does.
func Restart(ctx context.Context, d Docker, project string, timeout time.Duration, out io.Writer) error {
	if err := Stop(ctx, d, project, 0, out); err != nil {
		return err
	}
	return Start(ctx, d, project, timeout, out)
}

// LogsOptions select what Logs shows.
type LogsOptions struct {
	// Service limits the logs to one service; empty means all.
	Service string
	// Tail is the number of last lines per container; zero means all.
	Tail int
	// Follow streams new lines until ctx ends.
	Follow bool
	// Timestamps prefixes each line with its time.
	Timestamps bool
}

// Logs writes the project's container logs to w, each line prefixed with
// the service name when more than one container is shown. With Follow it
// streams the containers one after another only when a single container
// is selected; select a service to follow a multi-container project.
func Logs(ctx context.Context, d Docker, project string, opts LogsOptions, w io.Writer) error {
	cs, err := Containers(ctx, d, project)
	if err != nil {
		return err
	}
	var sel []ContainerState
	for _, c := range cs {
		if opts.Service == "" || c.Service == opts.Service {
			sel = append(sel, c)
		}
	}
	if len(sel) == 0 {
		if opts.Service != "" {
			return &UserError{Msg: fmt.Sprintf("project %s has no service %q", project, opts.Service),
				HintMsg: "name one of its services", Err: cerrdefs.ErrNotFound}
		}
		return notInstalled(project)
	}
	if opts.Follow && len(sel) > 1 {
		return &UserError{Msg: "follow needs a single service", HintMsg: "select a service to follow"}
	}
	for _, c := range sel {
		lo := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps}
		if opts.Tail > 0 {
			lo.Tail = fmt.Sprint(opts.Tail)
		}
		dst := w
		if len(sel) > 1 {
			dst = &prefixWriter{w: w, prefix: c.Service + " | "}
		}
		if err := copyLogs(ctx, d, c.ID, lo, dst); err != nil {
			return fmt.Errorf("logs of %s: %w", c.Name, err)
		}
	}
	return nil
}

// Tail returns the last n log lines of a container, stdout and stderr
// interleaved as the daemon stored them.
func Tail(ctx context.Context, d Docker, id string, n int) (string, error) {
	var buf bytes.Buffer
	err := copyLogs(ctx, d, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)}, &buf)
	return buf.String(), err
}

func copyLogs(ctx context.Context, d Docker, id string, opts client.ContainerLogsOptions, w io.Writer) error {
	rc, err := d.ContainerLogs(ctx, id, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	res, err := d.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err == nil && res.Container.Config != nil && res.Container.Config.Tty {
		_, err = io.Copy(w, rc)
		return err
	}
	_, err = stdcopy.StdCopy(w, w, rc)
	return err
}

type prefixWriter struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for _, c := range b {
		if !p.midLine {
			buf.WriteString(p.prefix)
			p.midLine = true
		}
		buf.WriteByte(c)
		if c == '\n' {
			p.midLine = false
		}
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

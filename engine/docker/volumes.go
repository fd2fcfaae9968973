package docker

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// What backups need: where a project keeps its data, and stopping and
// starting its containers around a copy.

var _ engine.VolumeDocker = (*Client)(nil)

// Labels the compose mixin puts on volumes (mixin/compose owns them).
const (
	labelVolume = "com.docker.compose.volume"
	labelState  = "sh.stackhub.state"
)

// notData are host paths a bind mount may name that are no app's data.
var notData = []string{"/var/run/docker.sock", "/run/docker.sock", "/proc", "/sys", "/dev", "/etc/localtime", "/etc/timezone"}

// ProjectMounts lists the project's named volumes (but the mixin's state
// volume, which a new deployment makes again) and the host folders its
// containers bind-mount.
func (c *Client) ProjectMounts(ctx context.Context, project string) ([]engine.DataMount, error) {
	f := make(client.Filters).Add("label", contract.LabelProject+"="+project)
	vols, err := c.api.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("list volumes of %s", project))
	}
	var out []engine.DataMount
	for _, v := range vols.Items {
		if v.Labels[labelState] == "true" {
			continue
		}
		if v.Driver != "local" || v.Mountpoint == "" {
			return nil, engine.NewUserError(engine.ErrInvalid,
				fmt.Sprintf("volume %s uses driver %q, whose data StackHub cannot read", v.Name, v.Driver),
				"back up volumes of other drivers with the driver's own tools")
		}
		key := v.Labels[labelVolume]
		if key == "" {
			key = v.Name
		}
		out = append(out, engine.DataMount{Key: key, Name: v.Name, Path: v.Mountpoint})
	}
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("list containers of %s", project))
	}
	seen := map[string]bool{}
	for _, s := range list.Items {
		for _, m := range s.Mounts {
			if m.Type != "bind" || seen[m.Source] || !isData(m.Source) {
				continue
			}
			seen[m.Source] = true
			out = append(out, engine.DataMount{Key: m.Source, Path: m.Source, Bind: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func isData(path string) bool {
	for _, p := range notData {
		if path == p || strings.HasPrefix(path, p+"/") {
			return false
		}
	}
	return path != "/"
}

// StopContainers stops the containers (10 s grace each).
func (c *Client) StopContainers(ctx context.Context, ids []string) error {
	timeout := 10
	for _, id := range ids {
		if _, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil && !cerrdefs.IsNotFound(err) {
			return wrap(err, "stop container "+shortID(id))
		}
	}
	return nil
}

// StartContainers starts the containers, trying every one.
func (c *Client) StartContainers(ctx context.Context, ids []string) error {
	var first error
	for _, id := range ids {
		if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil && first == nil {
			first = wrap(err, "start container "+shortID(id))
		}
	}
	return first
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

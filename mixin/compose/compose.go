// Package compose runs a compose project's lifecycle directly over the
// Docker Engine API, with compose semantics and labels, so that invocation
// images need no compose binary: it loads compose files (compose-go), turns
// services into container create requests, creates networks, volumes and
// containers, starts them in dependency order, waits for them to be running
// and healthy, and stops, removes, inspects and tails them later. It also
// keeps the daemon-wide port lock and the per-project state (generated
// secrets) that the stackhub mixin needs. It talks to Docker only through
// the narrow [Docker] interface and imports nothing from the engine or the
// mixin.
package compose

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine/contract"
)

// Labels compose and StackHub put on what they create.
const (
	LabelNumber      = "com.docker.compose.container-number"
	LabelOneoff      = "com.docker.compose.oneoff"
	LabelWorkingDir  = "com.docker.compose.project.working_dir"
	LabelConfigFiles = "com.docker.compose.project.config_files"
	LabelConfigHash  = "com.docker.compose.config-hash"
	LabelVersion     = "com.docker.compose.version"
	LabelDependsOn   = "com.docker.compose.depends_on"
	LabelImage       = "com.docker.compose.image"
	LabelNetwork     = "com.docker.compose.network"
	LabelVolume      = "com.docker.compose.volume"
)

// ComposeVersion is written as com.docker.compose.version: the compose
// file format generation these labels follow.
const ComposeVersion = "2.24.0"

// Docker is the part of the Engine API this package uses; *client.Client
// implements it and composetest.Docker fakes it.
type Docker interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerStop(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRename(ctx context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ImageInspect(ctx context.Context, ref string, options ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
	NetworkList(ctx context.Context, options client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkCreate(ctx context.Context, name string, options client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkConnect(ctx context.Context, id string, options client.NetworkConnectOptions) (client.NetworkConnectResult, error)
	NetworkRemove(ctx context.Context, id string, options client.NetworkRemoveOptions) (client.NetworkRemoveResult, error)
	VolumeList(ctx context.Context, options client.VolumeListOptions) (client.VolumeListResult, error)
	VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeRemove(ctx context.Context, id string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
}

var _ Docker = (*client.Client)(nil)

// NewClient connects to the daemon named by DOCKER_HOST (default the local
// socket), negotiating the API version so that old engines work.
func NewClient() (*client.Client, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w", err)
	}
	return c, nil
}

// Sentinel errors; wrapped with %w.
var (
	// ErrExists reports an install over a project that already has containers.
	ErrExists = errors.New("already installed")
	// ErrUnhealthy reports a container that did not become running and healthy.
	ErrUnhealthy = errors.New("not healthy")
	// ErrUnsupported reports a compose feature this package does not implement.
	ErrUnsupported = errors.New("unsupported compose feature")
	// ErrImage reports an image that is neither local nor pullable.
	ErrImage = errors.New("image not available")
)

// UserError is an error whose fix is known: Hint says how to fix it.
type UserError struct {
	Msg     string
	HintMsg string
	Err     error
}

func (e *UserError) Error() string { return e.Msg }

// Unwrap returns the wrapped cause or sentinel.
func (e *UserError) Unwrap() error { return e.Err }

// Hint says how to fix the error.
func (e *UserError) Hint() string { return e.HintMsg }

// projectFilter selects everything labelled with the project.
func projectFilter(project string) client.Filters {
	return make(client.Filters).Add("label", contract.LabelProject+"="+project)
}

package cnab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cnabio/cnab-go/action"
	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-go/claim"
	"github.com/cnabio/cnab-go/driver"
	"github.com/cnabio/cnab-go/valuesource"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// Runtime runs bundle actions through cnab-go's action pipeline and
// StackHub's Driver (driver.go says why not cnab-go's docker driver).
type Runtime struct {
	// Socket is the Docker socket mounted into containers that are allowed
	// to reach the host's Docker ("" = /var/run/docker.sock).
	Socket string

	// One Engine API client for every action: its connection pool is
	// reused instead of one pool (and its idle connections) per action.
	once   sync.Once
	api    containerAPI
	closer func() error
	apiErr error
}

var _ engine.BundleRuntime = (*Runtime)(nil)

// NewRuntime returns a Runtime for the local Docker daemon.
func NewRuntime(socket string) *Runtime {
	if socket == "" {
		socket = "/var/run/docker.sock"
	}
	return &Runtime{Socket: socket}
}

// client returns the shared Engine API client, made on first use from the
// environment (DOCKER_HOST and friends), as the Docker CLI does.
func (r *Runtime) client() (containerAPI, error) {
	r.once.Do(func() {
		if r.api != nil {
			return
		}
		c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			r.apiErr = fmt.Errorf("connect to docker: %w", err)
			return
		}
		r.api, r.closer = c, c.Close
	})
	return r.api, r.apiErr
}

// Close releases the client's connections.
func (r *Runtime) Close() error {
	if r.closer != nil {
		return r.closer()
	}
	return nil
}

// Run executes op.Action in a fresh invocation container and returns the
// bundle outputs it produced. The returned error carries the container's
// exit status; outputs collected before a failure are returned with it.
func (r *Runtime) Run(ctx context.Context, op *engine.Operation) (*engine.OperationResult, error) {
	var b bundle.Bundle
	if err := json.Unmarshal(op.BundleJSON, &b); err != nil {
		return nil, fmt.Errorf("read bundle.json: %w", err)
	}
	installation := op.Namespace + "/" + op.Installation
	c := claim.Claim{
		SchemaVersion: claim.GetDefaultSchemaVersion(),
		ID:            op.RunID,
		Installation:  installation,
		Revision:      op.Revision,
		Created:       time.Now(),
		Action:        op.Action,
		Bundle:        b,
		Parameters:    op.Parameters,
	}
	if c.ID == "" || c.Revision == "" {
		id, err := claim.NewULID()
		if err != nil {
			return nil, fmt.Errorf("new run id: %w", err)
		}
		if c.ID == "" {
			c.ID = id
		}
		if c.Revision == "" {
			c.Revision = id
		}
	}

	api, err := r.client()
	if err != nil {
		return nil, err
	}
	out, errw := op.Out, op.Err
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = out
	}
	d := &Driver{api: api, configure: r.containerOptions(op), out: out, errw: errw}

	a := action.New(d)
	creds := valuesource.Set{}
	for k, v := range op.Credentials {
		creds[k] = v
	}
	result, _, err := a.Run(ctx, c, creds, func(o *driver.Operation) error {
		if op.Image != "" {
			o.Image.Image = op.Image
			o.Image.Digest = ""
		}
		o.Environment["PORTER_INSTALLATION_NAME"] = op.Installation
		o.Environment["PORTER_INSTALLATION_NAMESPACE"] = op.Namespace
		o.Environment["PORTER_INSTALLATION_ID"] = op.InstallationID
		o.Out, o.Err = out, errw
		for path, content := range op.Files {
			o.Files[path] = content
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", op.Action, err)
	}
	res := &engine.OperationResult{Outputs: make(map[string][]byte, len(result.Outputs))}
	for k, v := range result.Outputs {
		res.Outputs[k] = []byte(v)
	}
	if result.Error != nil {
		var xe *ExitError
		if errors.As(result.Error, &xe) && contract.OutcomeOf(xe.Status) == contract.OutcomeUpgradeUndone {
			return res, fmt.Errorf("%s action failed: %w: %w", op.Action, engine.ErrUpgradeUndone, result.Error)
		}
		return res, fmt.Errorf("%s action failed: %w", op.Action, result.Error)
	}
	return res, nil
}

func (r *Runtime) containerOptions(op *engine.Operation) func(*container.Config, *container.HostConfig) {
	return func(cfg *container.Config, host *container.HostConfig) {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[contract.LabelInvocation] = "true"
		cfg.Labels[contract.LabelInstallation] = op.Installation
		cfg.Labels[contract.LabelRun] = op.RunID
		if op.HostNetwork {
			host.NetworkMode = "host"
		}
		if op.AllowDockerHost {
			host.Mounts = append(host.Mounts, mount.Mount{
				Type:   mount.TypeBind,
				Source: r.Socket,
				Target: "/var/run/docker.sock",
			})
			// The image runs as a non-root user: give it the socket's group.
			if gid, ok := socketGroup(r.Socket); ok {
				host.GroupAdd = append(host.GroupAdd, strconv.Itoa(gid))
			}
			host.Privileged = op.Privileged
		}
	}
}

func socketGroup(path string) (int, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}

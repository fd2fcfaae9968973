package compose

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Execer runs commands in running containers (docker exec). The Docker
// client is one; the package's fakes need not be.
type Execer interface {
	ExecCreate(ctx context.Context, container string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
}

var _ Execer = (*client.Client)(nil)

// Exec runs cmd in the running container of service (the main one when
// service is empty), copies its output to out, and fails when it exits
// with a status other than 0. The app keeps running: this is how a bundle
// dumps a database for a backup without stopping it.
func Exec(ctx context.Context, d Docker, project, service string, cmd []string, out io.Writer) error {
	if len(cmd) == 0 {
		return &UserError{Msg: "exec: no command", HintMsg: "give the step a command, for example command: [pg_dump, -f, /backup/db.sql]"}
	}
	x, ok := d.(Execer)
	if !ok {
		return errors.New("exec: this Docker client cannot run commands in containers")
	}
	cs, err := Containers(ctx, d, project)
	if err != nil {
		return err
	}
	var target *ContainerState
	for i := range cs {
		if (service == "" && cs[i].Main) || (service != "" && cs[i].Service == service) {
			target = &cs[i]
			break
		}
	}
	what := "the main service"
	if service != "" {
		what = "service " + service
	}
	switch {
	case target == nil:
		return &UserError{Msg: fmt.Sprintf("exec: %s has no container in %s", what, project),
			HintMsg: "name a service of the compose file in the step's service field"}
	case target.State != "running":
		return &UserError{Msg: fmt.Sprintf("exec: container %s of %s is %s, not running", target.Name, what, target.State),
			HintMsg: "start the app first (stackhub start)"}
	}
	created, err := x.ExecCreate(ctx, target.ID, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return fmt.Errorf("exec in %s: %w", target.Name, err)
	}
	att, err := x.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return fmt.Errorf("exec in %s: attach: %w", target.Name, err)
	}
	defer att.Close()
	if _, err := stdcopy.StdCopy(out, out, att.Reader); err != nil {
		return fmt.Errorf("exec in %s: read output: %w", target.Name, err)
	}
	res, err := x.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return fmt.Errorf("exec in %s: %w", target.Name, err)
	}
	if res.Running {
		return fmt.Errorf("exec in %s: the command's output ended while it still runs", target.Name)
	}
	if res.ExitCode != 0 {
		return &UserError{Msg: fmt.Sprintf("exec in %s: %q exited with status %d", target.Name, cmd[0], res.ExitCode),
			HintMsg: "its output is above"}
	}
	return nil
}

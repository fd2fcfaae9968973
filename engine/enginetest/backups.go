package enginetest

import (
	"context"
	"errors"

	"github.com/stackhub/stackhub/engine"
)

// BackupEngineFunc is an engine.BackupEngine whose methods call the
// functions set; nil ones find nothing and fail.
type BackupEngineFunc struct {
	BackupFunc   func(ctx context.Context, req engine.BackupRequest) (*engine.Backup, error)
	ListFunc     func(ctx context.Context, installation string) ([]engine.Backup, error)
	ReadFileFunc func(ctx context.Context, id, name string) ([]byte, error)
	RestoreFunc  func(ctx context.Context, id, path, target string) error
	DeleteFunc   func(ctx context.Context, id string) error
	ForgetFunc   func(ctx context.Context, installation string, keep engine.KeepPolicy) ([]string, error)
}

var _ engine.BackupEngine = (*BackupEngineFunc)(nil)

var errNoFunc = errors.New("not scripted")

// Backup calls BackupFunc.
func (b *BackupEngineFunc) Backup(ctx context.Context, req engine.BackupRequest) (*engine.Backup, error) {
	if b.BackupFunc == nil {
		return nil, errNoFunc
	}
	return b.BackupFunc(ctx, req)
}

// List calls ListFunc; nil lists none.
func (b *BackupEngineFunc) List(ctx context.Context, installation string) ([]engine.Backup, error) {
	if b.ListFunc == nil {
		return nil, nil
	}
	return b.ListFunc(ctx, installation)
}

// ReadFile calls ReadFileFunc.
func (b *BackupEngineFunc) ReadFile(ctx context.Context, id, name string) ([]byte, error) {
	if b.ReadFileFunc == nil {
		return nil, errNoFunc
	}
	return b.ReadFileFunc(ctx, id, name)
}

// Restore calls RestoreFunc.
func (b *BackupEngineFunc) Restore(ctx context.Context, id, path, target string) error {
	if b.RestoreFunc == nil {
		return errNoFunc
	}
	return b.RestoreFunc(ctx, id, path, target)
}

// Delete calls DeleteFunc.
func (b *BackupEngineFunc) Delete(ctx context.Context, id string) error {
	if b.DeleteFunc == nil {
		return errNoFunc
	}
	return b.DeleteFunc(ctx, id)
}

// Forget calls ForgetFunc.
func (b *BackupEngineFunc) Forget(ctx context.Context, installation string, keep engine.KeepPolicy) ([]string, error) {
	if b.ForgetFunc == nil {
		return nil, errNoFunc
	}
	return b.ForgetFunc(ctx, installation, keep)
}

// Target names a fake repository.
func (b *BackupEngineFunc) Target() string { return "/fake/repository" }

// VolumeDockerFunc is an engine.Docker that is also an
// engine.VolumeDocker: the Docker calls go to Docker, the volume calls to
// the functions set (nil: no mounts, stop and start succeed).
type VolumeDockerFunc struct {
	engine.Docker
	ProjectMountsFunc   func(ctx context.Context, project string) ([]engine.DataMount, error)
	StopContainersFunc  func(ctx context.Context, ids []string) error
	StartContainersFunc func(ctx context.Context, ids []string) error
}

var _ engine.VolumeDocker = (*VolumeDockerFunc)(nil)

// ProjectMounts calls ProjectMountsFunc.
func (d *VolumeDockerFunc) ProjectMounts(ctx context.Context, project string) ([]engine.DataMount, error) {
	if d.ProjectMountsFunc == nil {
		return nil, nil
	}
	return d.ProjectMountsFunc(ctx, project)
}

// StopContainers calls StopContainersFunc.
func (d *VolumeDockerFunc) StopContainers(ctx context.Context, ids []string) error {
	if d.StopContainersFunc == nil {
		return nil
	}
	return d.StopContainersFunc(ctx, ids)
}

// StartContainers calls StartContainersFunc.
func (d *VolumeDockerFunc) StartContainers(ctx context.Context, ids []string) error {
	if d.StartContainersFunc == nil {
		return nil
	}
	return d.StartContainersFunc(ctx, ids)
}

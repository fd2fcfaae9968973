package cnab

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-go/driver"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// StackHub runs invocation images with its own implementation of cnab-go's
// driver.Driver instead of cnab-go's docker driver (v0.26.4). That driver
// copies the attached output in a loop that only ends on a copy error; at
// the container's end stdcopy.StdCopy returns nil, so the goroutine spins
// for the life of the process, one per action ever run (a long-running
// service saturates its cores after a few installs; see
// docs/upstream/cnab-go-attach-loop.md). It also builds a new Docker CLI,
// with its own connection pool, for every action, stages files through a
// pipe whose writer leaks when the copy into the container fails, and
// removes the container with the action's context, so a cancelled action
// leaves its container behind. Driver does the same work once: one shared
// Engine API client, output copied once until EOF and awaited before Run
// returns, cleanup on a context that outlives cancellation.

// containerAPI is the part of the Engine API the driver uses; *client.Client
// implements it, and the tests give it a fake.
type containerAPI interface {
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error)
	ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	CopyToContainer(ctx context.Context, id string, opts client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	ContainerAttach(ctx context.Context, id string, opts client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, id string, opts client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerStop(ctx context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error)
	CopyFromContainer(ctx context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
}

var _ containerAPI = (*client.Client)(nil)

// How long cleanup may take once the action's own context has ended, and
// how long the output copy may lag behind the container's exit before the
// stream is closed under it.
const (
	cleanupTimeout = 30 * time.Second
	drainTimeout   = 10 * time.Second
)

// Driver runs one action's invocation container. It is cheap: make one per
// action over a shared client.
type Driver struct {
	api containerAPI
	// configure adjusts the container before it is created (labels,
	// mounts, privileges, network).
	configure func(*container.Config, *container.HostConfig)
	// out and errw receive the container's stdout and stderr; nil falls
	// back to the operation's writers, then to io.Discard.
	out, errw io.Writer
	// drain bounds the wait for the output stream to end after the
	// container has exited (0 = drainTimeout).
	drain time.Duration
}

var _ driver.Driver = (*Driver)(nil)

// Handles reports whether the driver runs images of type dt.
func (d *Driver) Handles(dt string) bool {
	return dt == driver.ImageTypeDocker || dt == driver.ImageTypeOCI
}

// Run creates the invocation container, stages op.Files into it, streams
// its output, waits for it to exit and collects the outputs it wrote under
// /cnab/app/outputs. The container is removed in every case, cancellation
// included: the context's end stops it first and its outputs are still
// collected. No goroutine started here outlives Run.
func (d *Driver) Run(ctx context.Context, op *driver.Operation) (driver.OperationResult, error) {
	image, err := d.inspectImage(ctx, op.Image)
	if err != nil {
		return driver.OperationResult{}, err
	}
	if err := validateImageDigest(op.Image, image.RepoDigests); err != nil {
		return driver.OperationResult{}, fmt.Errorf("validate invocation image digest: %w", err)
	}

	cfg, host := d.containerConfig(op)
	created, err := d.api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host})
	if err != nil {
		return driver.OperationResult{}, fmt.Errorf("create invocation container: %w", err)
	}
	id := created.ID
	cleanupCtx := context.WithoutCancel(ctx)
	defer func() {
		rctx, cancel := context.WithTimeout(cleanupCtx, cleanupTimeout)
		defer cancel()
		_, _ = d.api.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true})
	}()

	var uid int
	if image.Config != nil {
		uid = containerUserID(image.Config.User)
	}
	staged, err := tarFiles(op.Files, uid)
	if err != nil {
		return driver.OperationResult{}, fmt.Errorf("stage files: %w", err)
	}
	if _, err := d.api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: staged}); err != nil {
		return driver.OperationResult{}, fmt.Errorf("copy files into the invocation container: %w", err)
	}

	attach, err := d.api.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true, Logs: true})
	if err != nil {
		return driver.OperationResult{}, fmt.Errorf("attach to the invocation container: %w", err)
	}
	stdout, stderr := d.writers(op)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		// One copy: it returns at EOF, when the container has exited and
		// the daemon closes the stream. A broken stream only cuts the
		// log short; the action's result comes from its exit status.
		_ = copyOutput(stdout, stderr, &attach.HijackedResponse)
	}()
	// Run must not return while the copy can still write to stdout and
	// stderr (they belong to the caller), nor leave the connection open.
	defer func() {
		wait := d.drain
		if wait == 0 {
			wait = drainTimeout
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-copied:
			attach.Close()
			return
		case <-t.C:
		}
		// The daemon has not closed the stream: close it under the copy
		// and wait for the copy to see that.
		attach.Close()
		<-copied
	}()

	if _, err := d.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return driver.OperationResult{}, fmt.Errorf("start the invocation container: %w", err)
	}
	return d.result(ctx, cleanupCtx, id, op)
}

// result waits for the container to exit and collects its outputs.
func (d *Driver) result(ctx, cleanupCtx context.Context, id string, op *driver.Operation) (driver.OperationResult, error) {
	wait := d.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(cleanupCtx, cleanupTimeout)
		defer cancel()
		if _, err := d.api.ContainerStop(sctx, id, client.ContainerStopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return driver.OperationResult{}, fmt.Errorf("stop the invocation container: %w (%w)", err, context.Cause(ctx))
		}
		exited := d.api.ContainerWait(sctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		// Whether the wait ended by the exit or by an error, what the
		// container wrote is collected next.
		select {
		case <-exited.Result:
		case err := <-exited.Error:
			_ = err
		}
		res, err := d.outputs(sctx, id, op)
		if err != nil {
			return res, fmt.Errorf("%w; collect outputs: %w", context.Cause(ctx), err)
		}
		return res, context.Cause(ctx)
	case err := <-wait.Error:
		res, ferr := d.outputs(cleanupCtx, id, op)
		return res, errors.Join(fmt.Errorf("wait for the invocation container: %w", err), ferr)
	case st := <-wait.Result:
		res, ferr := d.outputs(ctx, id, op)
		if st.StatusCode == 0 {
			return res, ferr
		}
		xe := &ExitError{Status: int(st.StatusCode)}
		if st.Error != nil {
			xe.Message = st.Error.Message
		}
		return res, errors.Join(xe, ferr)
	}
}

// ExitError is an invocation container that exited with a non-zero
// status; contract.OutcomeOf tells what the status means.
type ExitError struct {
	Status  int
	Message string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("container exit code: %d", e.Status)
	if e.Message != "" {
		msg += ", message: " + e.Message
	}
	return msg
}

// outputs copies /cnab/app/outputs out of the container and keeps the
// files op.Outputs names. A missing folder means the action wrote none.
func (d *Driver) outputs(ctx context.Context, id string, op *driver.Operation) (driver.OperationResult, error) {
	res := driver.OperationResult{Outputs: map[string]string{}}
	if len(op.Outputs) == 0 {
		return res, nil
	}
	cp, err := d.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: "/cnab/app/outputs"})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return res, nil
		}
		return res, fmt.Errorf("copy outputs from the invocation container: %w", err)
	}
	defer cp.Content.Close()
	tr := tar.NewReader(cp.Content)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("read outputs: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		// The archive's names start at the copied folder ("outputs/x").
		name, ok := op.Outputs[path.Join("/cnab/app", hdr.Name)]
		if !ok {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return res, fmt.Errorf("read output %s: %w", name, err)
		}
		res.Outputs[name] = string(data)
	}
}

// inspectImage inspects the invocation image, pulling it when the daemon
// does not have it (the engine pulls with credentials first; this is the
// anonymous fallback cnab-go's driver also has).
func (d *Driver) inspectImage(ctx context.Context, img bundle.InvocationImage) (client.ImageInspectResult, error) {
	ii, err := d.api.ImageInspect(ctx, img.Image)
	if err == nil {
		return ii, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return ii, fmt.Errorf("inspect invocation image %s: %w", img.Image, err)
	}
	pull, err := d.api.ImagePull(ctx, img.Image, client.ImagePullOptions{})
	if err != nil {
		return ii, fmt.Errorf("pull invocation image %s: %w", img.Image, err)
	}
	werr := pull.Wait(ctx)
	_ = pull.Close()
	if werr != nil {
		return ii, fmt.Errorf("pull invocation image %s: %w", img.Image, werr)
	}
	ii, err = d.api.ImageInspect(ctx, img.Image)
	if err != nil {
		return ii, fmt.Errorf("inspect invocation image %s: %w", img.Image, err)
	}
	return ii, nil
}

// containerConfig is the invocation container's configuration: the CNAB
// entrypoint, the operation's environment (sorted, so that identical
// operations make identical containers) and the runtime's adjustments.
func (d *Driver) containerConfig(op *driver.Operation) (*container.Config, *container.HostConfig) {
	env := make([]string, 0, len(op.Environment))
	for k, v := range op.Environment {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	cfg := &container.Config{
		Image:        op.Image.Image,
		Env:          env,
		Entrypoint:   []string{"/cnab/app/run"},
		AttachStdout: true,
		AttachStderr: true,
	}
	host := &container.HostConfig{}
	if d.configure != nil {
		d.configure(cfg, host)
	}
	return cfg, host
}

func (d *Driver) writers(op *driver.Operation) (io.Writer, io.Writer) {
	out, errw := d.out, d.errw
	if out == nil {
		out = op.Out
	}
	if errw == nil {
		errw = op.Err
	}
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = out
	}
	return out, errw
}

// copyOutput copies the attached stream until EOF, demultiplexed. The
// invocation container is made without a TTY, so the daemon always
// multiplexes stdout and stderr; the upgrade's Content-Type does not say
// so before Engine API 1.42 (Docker 20.10 answers raw-stream for both), so
// it is not asked.
func copyOutput(stdout, stderr io.Writer, h *client.HijackedResponse) error {
	_, err := stdcopy.StdCopy(stdout, stderr, h.Reader)
	return err
}

// containerUserID is the uid the image runs as (root when its user is not
// numeric), so that staged files are readable by it.
func containerUserID(user string) int {
	if uid, err := strconv.Atoi(strings.SplitN(user, ":", 2)[0]); err == nil {
		return uid
	}
	return 0
}

// tarFiles packs files (absolute container paths) into a tar owned by uid,
// with their parent folders, readable by that user only. It is built in
// memory: the files are the bundle's parameters and claim, small, and a
// buffer cannot leak a writer goroutine the way a pipe can.
func tarFiles(files map[string]string, uid int) (io.Reader, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("destination path %s should be an absolute unix path", p)
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, p := range paths {
		var parents []string
		for dir := path.Dir(p); dir != "/" && !dirs[dir]; dir = path.Dir(dir) {
			dirs[dir] = true
			parents = append(parents, dir)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parents[i], Mode: 0o700, Uid: uid}); err != nil {
				return nil, fmt.Errorf("tar %s: %w", parents[i], err)
			}
		}
		content := files[p]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o600, Uid: uid, Size: int64(len(content))}); err != nil {
			return nil, fmt.Errorf("tar %s: %w", p, err)
		}
		if _, err := io.WriteString(tw, content); err != nil {
			return nil, fmt.Errorf("tar %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar files: %w", err)
	}
	return &buf, nil
}

// validateImageDigest checks the image against the digest bundle.json
// pins, when it pins one: one of its repository digests must match.
func validateImageDigest(img bundle.InvocationImage, repoDigests []string) error {
	if img.Digest == "" {
		return nil
	}
	for _, rd := range repoDigests {
		ref, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			return fmt.Errorf("parse repository digest %s: %w", rd, err)
		}
		if dg, ok := ref.(reference.Digested); ok && dg.Digest().String() == img.Digest {
			return nil
		}
	}
	if len(repoDigests) == 0 {
		return fmt.Errorf("image %s has no repository digests to check against %s", img.Image, img.Digest)
	}
	return fmt.Errorf("content digest mismatch: invocation image %s was defined in the bundle with the digest %s but none of its repository digests matches", img.Image, img.Digest)
}

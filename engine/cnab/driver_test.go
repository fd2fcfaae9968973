package cnab

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cnabio/cnab-go/bundle"
	"github.com/cnabio/cnab-go/driver"
	cerrdefs "github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// fakeAPI is an Engine API whose one container "runs" when started: it
// writes stdout/stderr frames to the attached stream and exits with code,
// or runs until stopped when block is set.
type fakeAPI struct {
	code      int64
	block     bool // run until ContainerStop
	keepOpen  bool // the daemon never closes the attached stream
	outputs   map[string]string
	noOutputs bool // /cnab/app/outputs does not exist
	copyErr   error
	mediaType string // the upgrade's Content-Type

	mu       sync.Mutex
	staged   map[string]*tar.Header
	removed  bool
	stopped  bool
	removeOK bool // the remove's context was still live
	exit     chan struct{}
	srv      net.Conn
}

func newFakeAPI() *fakeAPI { return &fakeAPI{exit: make(chan struct{})} }

func (f *fakeAPI) ImageInspect(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{Config: &dockerspec.DockerOCIImageConfig{}}}, nil
}

func (f *fakeAPI) ImagePull(context.Context, string, client.ImagePullOptions) (client.ImagePullResponse, error) {
	return nil, errors.New("no pulls here")
}

func (f *fakeAPI) ContainerCreate(context.Context, client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	return client.ContainerCreateResult{ID: "c1"}, nil
}

func (f *fakeAPI) CopyToContainer(_ context.Context, _ string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	if f.copyErr != nil {
		return client.CopyToContainerResult{}, f.copyErr
	}
	tr := tar.NewReader(o.Content)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.staged = map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return client.CopyToContainerResult{}, nil
		}
		if err != nil {
			return client.CopyToContainerResult{}, err
		}
		f.staged[h.Name] = h
	}
}

func (f *fakeAPI) ContainerAttach(context.Context, string, client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	cli, srv := net.Pipe()
	f.srv = srv
	if f.mediaType != "" {
		return client.ContainerAttachResult{HijackedResponse: client.NewHijackedResponse(cli, f.mediaType)}, nil
	}
	return client.ContainerAttachResult{HijackedResponse: client.HijackedResponse{Conn: cli, Reader: bufio.NewReader(cli)}}, nil
}

func frame(stream byte, s string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func (f *fakeAPI) ContainerStart(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
	srv := f.srv
	go func() {
		_, _ = srv.Write(frame(1, "hello from stdout\n"))
		_, _ = srv.Write(frame(2, "hello from stderr\n"))
		if f.block {
			<-f.exit
		} else {
			close(f.exit)
		}
		if f.keepOpen {
			// Hold the stream open until the client closes it.
			_, _ = io.Copy(io.Discard, srv)
		}
		_ = srv.Close()
	}()
	return client.ContainerStartResult{}, nil
}

func (f *fakeAPI) ContainerWait(ctx context.Context, _ string, _ client.ContainerWaitOptions) client.ContainerWaitResult {
	res := make(chan container.WaitResponse, 1)
	errc := make(chan error, 1)
	go func() {
		select {
		case <-f.exit:
			res <- container.WaitResponse{StatusCode: f.code}
		case <-ctx.Done():
			errc <- ctx.Err()
		}
	}()
	return client.ContainerWaitResult{Result: res, Error: errc}
}

func (f *fakeAPI) ContainerStop(context.Context, string, client.ContainerStopOptions) (client.ContainerStopResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		f.stopped = true
		close(f.exit)
	}
	return client.ContainerStopResult{}, nil
}

func (f *fakeAPI) CopyFromContainer(context.Context, string, client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	if f.noOutputs {
		return client.CopyFromContainerResult{}, cerrdefs.ErrNotFound
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "outputs/", Mode: 0o755})
	for name, v := range f.outputs {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "outputs/" + name, Mode: 0o644, Size: int64(len(v))})
		_, _ = tw.Write([]byte(v))
	}
	_ = tw.Close()
	return client.CopyFromContainerResult{Content: io.NopCloser(&buf)}, nil
}

func (f *fakeAPI) ContainerRemove(ctx context.Context, _ string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = true
	f.removeOK = ctx.Err() == nil && o.Force
	return client.ContainerRemoveResult{}, nil
}

func testOperation() *driver.Operation {
	return &driver.Operation{
		Action:      "install",
		Image:       bundle.InvocationImage{BaseImage: bundle.BaseImage{Image: "example/bundle:v1", ImageType: "docker"}},
		Environment: map[string]string{"B": "2", "A": "1"},
		Files:       map[string]string{"/cnab/app/porter.yaml": "name: x", "/cnab/bundle.json": "{}"},
		Outputs:     map[string]string{"/cnab/app/outputs/port": "port", "/cnab/app/outputs/url": "url"},
	}
}

func TestDriverRun(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(*fakeAPI)
		cancel      bool
		wantErr     string
		wantOutputs map[string]string
		wantStopped bool
	}{
		{name: "success", setup: func(f *fakeAPI) {}, wantOutputs: map[string]string{"port": "9001", "url": "http://x"}},
		{name: "failed action keeps its outputs", setup: func(f *fakeAPI) { f.code = 3 },
			wantErr: "container exit code: 3", wantOutputs: map[string]string{"port": "9001", "url": "http://x"}},
		// Before Engine API 1.42 the daemon calls every attach stream raw.
		{name: "multiplexed stream labelled raw", setup: func(f *fakeAPI) { f.mediaType = "application/vnd.docker.raw-stream" },
			wantOutputs: map[string]string{"port": "9001", "url": "http://x"}},
		{name: "no outputs folder", setup: func(f *fakeAPI) { f.noOutputs = true }, wantOutputs: map[string]string{}},
		{name: "stream left open by the daemon", setup: func(f *fakeAPI) { f.keepOpen = true },
			wantOutputs: map[string]string{"port": "9001", "url": "http://x"}},
		{name: "cancelled action is stopped and removed", setup: func(f *fakeAPI) { f.block = true }, cancel: true,
			wantErr: "context canceled", wantOutputs: map[string]string{"port": "9001", "url": "http://x"}, wantStopped: true},
		{name: "staging fails", setup: func(f *fakeAPI) { f.copyErr = errors.New("disk full") }, wantErr: "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			f := newFakeAPI()
			f.outputs = map[string]string{"port": "9001", "url": "http://x", "other": "ignored"}
			tt.setup(f)
			var out, errw bytes.Buffer
			d := &Driver{api: f, out: &out, errw: &errw, drain: 50 * time.Millisecond}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				go func() {
					time.Sleep(20 * time.Millisecond)
					cancel()
				}()
			}
			res, err := d.Run(ctx, testOperation())
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			assert.True(t, f.removed, "container removed")
			assert.True(t, f.removeOK, "removed with force on a live context")
			assert.Equal(t, tt.wantStopped, f.stopped)
			if tt.wantOutputs != nil {
				assert.Equal(t, tt.wantOutputs, res.Outputs)
			}
			if f.copyErr == nil {
				assert.Equal(t, "hello from stdout\n", out.String())
				assert.Equal(t, "hello from stderr\n", errw.String())
			}
		})
	}
}

func TestTarFiles(t *testing.T) {
	r, err := tarFiles(map[string]string{"/cnab/app/a": "1", "/cnab/app/b/c": "22", "/cnab/bundle.json": "{}"}, 65532)
	require.NoError(t, err)
	tr := tar.NewReader(r)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		assert.Equal(t, 65532, h.Uid, h.Name)
		names = append(names, h.Name)
	}
	// Parents come before their files, once each.
	assert.Equal(t, []string{"/cnab", "/cnab/app", "/cnab/app/a", "/cnab/app/b", "/cnab/app/b/c", "/cnab/bundle.json"}, names)

	_, err = tarFiles(map[string]string{"relative": "x"}, 0)
	require.Error(t, err)
}

// TestStdCopyReturnsNilAtEOF pins the behaviour that makes cnab-go's loop
// spin: a finished stream is a nil error, not io.EOF, so "copy until an
// error" never ends.
func TestStdCopyReturnsNilAtEOF(t *testing.T) {
	for range 3 {
		n, err := stdcopy.StdCopy(io.Discard, io.Discard, bytes.NewReader(nil))
		require.NoError(t, err)
		assert.Zero(t, n)
	}
}

func TestValidateImageDigest(t *testing.T) {
	const dg = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	img := bundle.InvocationImage{BaseImage: bundle.BaseImage{Image: "example/b:v1", Digest: dg}}
	require.NoError(t, validateImageDigest(bundle.InvocationImage{}, nil))
	require.NoError(t, validateImageDigest(img, []string{"example/b@" + dg}))
	require.Error(t, validateImageDigest(img, nil))
	require.Error(t, validateImageDigest(img, []string{"example/b@sha256:1123456789012345678901234567890123456789012345678901234567890123"}))
}

// TestRuntimeReadsUndoneUpgrade: an invocation container that exits with
// contract.ExitUpgradeUndone fails the action with engine.ErrUpgradeUndone,
// through cnab-go's action pipeline; any other status is a plain failure.
func TestRuntimeReadsUndoneUpgrade(t *testing.T) {
	bundleJSON := []byte(`{"schemaVersion":"v1.0.0","name":"x","version":"0.1.0",
		"invocationImages":[{"imageType":"docker","image":"example/bundle:v1"}]}`)
	for _, tt := range []struct {
		code   int64
		undone bool
	}{{contract.ExitUpgradeUndone, true}, {1, false}} {
		f := newFakeAPI()
		f.code = tt.code
		r := &Runtime{api: f}
		r.once.Do(func() {})
		_, err := r.Run(t.Context(), &engine.Operation{Action: "upgrade", Installation: "x", BundleJSON: bundleJSON, RunID: "r", Revision: "r"})
		require.Error(t, err)
		assert.Equal(t, tt.undone, errors.Is(err, engine.ErrUpgradeUndone), "exit %d: %v", tt.code, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("container exit code: %d", tt.code))
	}
}

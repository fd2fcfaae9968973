package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

// ContractContainer is a container DockerContract asks its harness for.
type ContractContainer struct {
	Name, Project, Service string
	// Image is the image it is made from: DockerHarness.Image, or one the
	// contract built.
	Image string
	// HostPort is published on 127.0.0.1 (0: none).
	HostPort int
	// Volume is a named volume of the project mounted into it ("": none).
	Volume  string
	Running bool
	Labels  map[string]string
}

// DockerHarness is an engine.Docker under test and what the contract needs
// to set up the state it then reads through it: engine.Docker has no verb
// that creates containers (the mixin does that).
type DockerHarness struct {
	Docker engine.Docker
	// Image is an image containers can run from (a long-running process).
	Image string
	// AddContainer creates (and with Running, starts) the container.
	AddContainer func(t *testing.T, c ContractContainer)
	// Volumes lists the project's named volumes.
	Volumes func(t *testing.T, project string) []string
	// FreePort returns a host port nothing uses.
	FreePort func(t *testing.T) int
}

// DockerContract runs the behaviour every engine.Docker must have: the
// in-memory MemDocker and engine/docker against the real Engine alike. Each
// subtest uses names of its own, so the real Engine may hold other things.
func DockerContract(t *testing.T, newHarness func(t *testing.T) *DockerHarness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h *DockerHarness, project string)
	}{
		{"ProjectContainersAndPorts", testProjectContainers},
		{"RemoveProjectKeepsDataUnlessPurged", testRemoveProject},
		{"ImagesAndTags", testImages},
		{"LogsOfAMissingContainer", testLogsNotFound},
		{"EventsOfAProject", testEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			project := "shcontract-" + hex.EncodeToString(b)
			t.Cleanup(func() { _ = h.Docker.RemoveProject(cleanupContext(t), project, true) })
			tt.fn(t, h, project)
		})
	}
}

// cleanupContext is a context for t.Cleanup functions: t.Context() is
// cancelled before they run.
func cleanupContext(t *testing.T) context.Context {
	return context.WithoutCancel(t.Context())
}

func managed() map[string]string { return map[string]string{contract.LabelManaged: "true"} }

func testProjectContainers(t *testing.T, h *DockerHarness, project string) {
	ctx := t.Context()
	webPort, dbPort := h.FreePort(t), h.FreePort(t)
	h.AddContainer(t, ContractContainer{Name: project + "-web", Project: project, Service: "web", Image: h.Image, HostPort: webPort, Running: true, Labels: managed()})
	h.AddContainer(t, ContractContainer{Name: project + "-db", Project: project, Service: "db", Image: h.Image, HostPort: dbPort, Labels: managed()})
	h.AddContainer(t, ContractContainer{Name: project + "x-other", Project: project + "x", Service: "web", Image: h.Image})
	t.Cleanup(func() { _ = h.Docker.RemoveProject(cleanupContext(t), project+"x", true) })

	cs, err := h.Docker.ProjectContainers(ctx, project)
	require.NoError(t, err)
	require.Len(t, cs, 2, "only the project's containers")
	assert.Equal(t, project+"-db", cs[0].Name, "sorted by name")
	assert.Equal(t, "created", cs[0].State)
	assert.Equal(t, "db", cs[0].Service)
	assert.Equal(t, project, cs[0].Project)
	assert.Equal(t, project+"-web", cs[1].Name)
	assert.Equal(t, "running", cs[1].State)

	all, err := h.Docker.ManagedContainers(ctx)
	require.NoError(t, err)
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
	}
	assert.Contains(t, names, project+"-web")
	assert.Contains(t, names, project+"-db")
	assert.NotContains(t, names, project+"x-other", "not managed")

	ports, err := h.Docker.PublishedPorts(ctx)
	require.NoError(t, err)
	found := map[int]string{}
	for _, p := range ports {
		found[p.Port] = p.Container
	}
	assert.Equal(t, project+"-web", found[webPort], "a running container's port")
	assert.Equal(t, project+"-db", found[dbPort], "a stopped container's port is taken too")
}

func testRemoveProject(t *testing.T, h *DockerHarness, project string) {
	ctx := t.Context()
	h.AddContainer(t, ContractContainer{Name: project + "-web", Project: project, Service: "web", Image: h.Image, Volume: project + "_data", Running: true, Labels: managed()})
	require.Equal(t, []string{project + "_data"}, h.Volumes(t, project))

	require.NoError(t, h.Docker.RemoveProject(ctx, project, false))
	cs, err := h.Docker.ProjectContainers(ctx, project)
	require.NoError(t, err)
	assert.Empty(t, cs, "containers removed")
	assert.Equal(t, []string{project + "_data"}, h.Volumes(t, project), "the data stays")

	h.AddContainer(t, ContractContainer{Name: project + "-web", Project: project, Service: "web", Image: h.Image, Volume: project + "_data", Labels: managed()})
	require.NoError(t, h.Docker.RemoveProject(ctx, project, true))
	assert.Empty(t, h.Volumes(t, project), "purge deletes the data")
	require.NoError(t, h.Docker.RemoveProject(ctx, project, true), "a project that is gone is no error")
}

// buildContext is a tar holding a Dockerfile that builds without a base
// image or a network.
func buildContext(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string]string{"Dockerfile": "FROM scratch\nCOPY payload /payload\nCMD [\"/payload\"]\n", "payload": "contract\n"} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return &buf
}

func testImages(t *testing.T, h *DockerHarness, project string) {
	ctx := t.Context()
	a, b := "stackhub-contract/"+project+":a", "stackhub-contract/"+project+":b"
	label := "sh.stackhub.contract." + project
	ok, err := h.Docker.ImageExists(ctx, a)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, h.Docker.BuildImage(ctx, buildContext(t), []string{a, b}, map[string]string{label: "1"}))
	t.Cleanup(func() {
		ctx := cleanupContext(t)
		_ = h.Docker.RemoveProject(ctx, project, true)
		_ = h.Docker.RemoveImageTag(ctx, a)
		_ = h.Docker.RemoveImageTag(ctx, b)
	})
	ok, err = h.Docker.ImageExists(ctx, a)
	require.NoError(t, err)
	assert.True(t, ok)

	images, err := h.Docker.ImagesWithLabel(ctx, label)
	require.NoError(t, err)
	require.Len(t, images, 1)
	tags := slices.Clone(images[0].Tags)
	slices.Sort(tags)
	assert.Equal(t, []string{a, b}, tags)
	assert.Equal(t, "1", images[0].Labels[label])

	require.NoError(t, h.Docker.RemoveImageTag(ctx, a))
	ok, err = h.Docker.ImageExists(ctx, b)
	require.NoError(t, err)
	assert.True(t, ok, "the image stays while it has a tag")

	// A container made from it keeps its last tag from being removed.
	h.AddContainer(t, ContractContainer{Name: project + "-web", Project: project, Service: "web", Image: b})
	require.ErrorIs(t, h.Docker.RemoveImageTag(ctx, b), engine.ErrConflict)
	require.NoError(t, h.Docker.RemoveProject(ctx, project, true))
	require.NoError(t, h.Docker.RemoveImageTag(ctx, b))
	ok, err = h.Docker.ImageExists(ctx, b)
	require.NoError(t, err)
	assert.False(t, ok, "the image goes with its last tag")
}

func testLogsNotFound(t *testing.T, h *DockerHarness, project string) {
	_, err := h.Docker.ContainerLogs(t.Context(), project+"-nothing", 10, false)
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testEvents(t *testing.T, h *DockerHarness, project string) {
	events, errs := h.Docker.Events(t.Context())
	h.AddContainer(t, ContractContainer{Name: project + "-web", Project: project, Service: "web", Image: h.Image, Running: true, Labels: managed()})
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Project == project && ev.Action == "start" {
				assert.Equal(t, project+"-web", ev.Name)
				return
			}
		case err := <-errs:
			t.Fatalf("event stream ended: %v", err)
		case <-timeout:
			t.Fatal("no start event for the project's container")
		}
	}
}

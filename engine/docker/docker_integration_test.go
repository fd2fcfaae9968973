//go:build integration

package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/build"
	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/docker"
	"github.com/stackhub/stackhub/engine/enginetest"
)

const sleeper = `package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, os.Interrupt)
	<-c
}
`

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return strings.TrimSpace(string(out))
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestClientAgainstRealEngine builds an image from a static binary through
// the Engine API, then checks ports, project listing and removal.
func TestClientAgainstRealEngine(t *testing.T) {
	c, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, c.Ping(t.Context()), "a Docker Engine must answer")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(sleeper), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sleeper\n\ngo 1.22\n"), 0o644))
	cmd := exec.Command("go", "build", "-o", "sleeper", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	tag := "stackhub-test/adapter:" + suffix
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })

	ctx, err := build.BaseContext(filepath.Join(dir, "sleeper"))
	require.NoError(t, err)
	ok, err := c.ImageExists(t.Context(), tag)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, c.BuildImage(t.Context(), ctx, []string{tag}, map[string]string{"sh.stackhub.test": "1"}))
	ok, err = c.ImageExists(t.Context(), tag)
	require.NoError(t, err)
	require.True(t, ok)

	project := "shtest-" + suffix
	running, stopped := freePort(t), freePort(t)
	t.Cleanup(func() { _ = c.RemoveProject(context.WithoutCancel(t.Context()), project, true) })
	run(t, "docker", "network", "create", "--label", contract.LabelProject+"="+project, project+"_default")
	run(t, "docker", "run", "-d", "--name", project+"-web", "--network", project+"_default",
		"--label", contract.LabelProject+"="+project, "--label", contract.LabelService+"=web", "--label", contract.LabelManaged+"=true",
		"-p", "127.0.0.1:"+strconv.Itoa(running)+":80", "--entrypoint", "/usr/local/bin/stackhub", tag)
	run(t, "docker", "create", "--name", project+"-db",
		"--label", contract.LabelProject+"="+project, "--label", contract.LabelService+"=db",
		"-p", "127.0.0.1:"+strconv.Itoa(stopped)+":5432", "--entrypoint", "/usr/local/bin/stackhub", tag)

	ports, err := c.PublishedPorts(t.Context())
	require.NoError(t, err)
	found := map[int]string{}
	for _, p := range ports {
		found[p.Port] = p.Container
	}
	assert.Equal(t, project+"-web", found[running], "a running container's port")
	assert.Equal(t, project+"-db", found[stopped], "a stopped container's port is taken too")

	cs, err := c.ProjectContainers(t.Context(), project)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, project+"-db", cs[0].Name)
	assert.Equal(t, "created", cs[0].State)
	assert.Equal(t, "running", cs[1].State)
	assert.Equal(t, "web", cs[1].Service)

	// Images by label; a tag in use is refused; the image goes with its
	// last tag.
	label := "sh.stackhub.test"
	images, err := c.ImagesWithLabel(t.Context(), label)
	require.NoError(t, err)
	var mine *engine.ImageInfo
	for i := range images {
		if slices.Contains(images[i].Tags, tag) {
			mine = &images[i]
		}
	}
	require.NotNil(t, mine, "the built image is listed by its label")
	assert.Equal(t, "1", mine.Labels[label])
	assert.WithinDuration(t, time.Now(), mine.Created, 10*time.Minute)
	second := tag + "-second"
	run(t, "docker", "tag", tag, second)
	require.NoError(t, c.RemoveImageTag(t.Context(), "stackhub-test/adapter:missing-"+suffix), "a missing tag is no error")
	require.NoError(t, c.RemoveImageTag(t.Context(), second))
	ok, err = c.ImageExists(t.Context(), tag)
	require.NoError(t, err)
	assert.True(t, ok, "the image stays with its other tag")
	require.ErrorIs(t, c.RemoveImageTag(t.Context(), tag), engine.ErrConflict, "containers use it")

	require.NoError(t, c.RemoveProject(t.Context(), project, false))
	cs, err = c.ProjectContainers(t.Context(), project)
	require.NoError(t, err)
	assert.Empty(t, cs)
	assert.Empty(t, run(t, "docker", "network", "ls", "-q", "--filter", "label="+contract.LabelProject+"="+project))

	require.NoError(t, c.RemoveImageTag(t.Context(), tag), "no container uses it any more")
	ok, err = c.ImageExists(t.Context(), tag)
	require.NoError(t, err)
	assert.False(t, ok, "the image went with its last tag")

	info, err := c.Info(t.Context())
	require.NoError(t, err)
	assert.NotEmpty(t, info.Version)
}

// TestEventsOmitExecs checks that the event stream carries state changes
// but not the exec events every healthcheck run emits.
func TestEventsOmitExecs(t *testing.T) {
	c, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, c.Ping(t.Context()), "a Docker Engine must answer")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	project := "shevents-" + hex.EncodeToString(b)
	name := project + "-web"
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })

	events, errs := c.Events(t.Context())
	run(t, "docker", "run", "-d", "--name", name, "--label", contract.LabelProject+"="+project,
		"--label", contract.LabelManaged+"=true", "stackhub-test/hello:1")
	run(t, "docker", "exec", "-d", name, "/app", "hello")
	run(t, "docker", "kill", name)

	var actions []string
	timeout := time.After(30 * time.Second)
	for !slices.Contains(actions, "die") {
		select {
		case ev := <-events:
			if ev.Project == project {
				actions = append(actions, ev.Action)
			}
		case err := <-errs:
			t.Fatalf("event stream: %v", err)
		case <-timeout:
			t.Fatalf("no die event; got %v", actions)
		}
	}
	assert.Contains(t, actions, "start")
	assert.Contains(t, actions, "kill")
	for _, a := range actions {
		assert.False(t, strings.HasPrefix(a, "exec_"), "exec event %q in %v", a, actions)
	}
}

// TestDockerContract runs the engine.Docker contract against the real
// Engine, as enginetest runs it against MemDocker.
func TestDockerContract(t *testing.T) {
	c, err := docker.New()
	require.NoError(t, err)
	require.NoError(t, c.Ping(t.Context()), "a Docker Engine must answer")
	t.Cleanup(func() { c.Close() })
	enginetest.DockerContract(t, func(t *testing.T) *enginetest.DockerHarness {
		return &enginetest.DockerHarness{
			Docker: c,
			Image:  "stackhub-test/hello:1",
			AddContainer: func(t *testing.T, cc enginetest.ContractContainer) {
				args := []string{"create", "--name", cc.Name,
					"--label", contract.LabelProject + "=" + cc.Project, "--label", contract.LabelService + "=" + cc.Service}
				for k, v := range cc.Labels {
					args = append(args, "--label", k+"="+v)
				}
				if cc.HostPort != 0 {
					args = append(args, "-p", "127.0.0.1:"+strconv.Itoa(cc.HostPort)+":8080")
				}
				if cc.Volume != "" {
					run(t, "docker", "volume", "create", "--label", contract.LabelProject+"="+cc.Project, cc.Volume)
					args = append(args, "-v", cc.Volume+":/data")
				}
				run(t, "docker", append(args, cc.Image)...)
				if cc.Running {
					run(t, "docker", "start", cc.Name)
				}
			},
			Volumes: func(t *testing.T, project string) []string {
				out := run(t, "docker", "volume", "ls", "-q", "--filter", "label="+contract.LabelProject+"="+project)
				return strings.Fields(out)
			},
			FreePort: freePort,
		}
	})
}

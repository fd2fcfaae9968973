//go:build integration

package mixin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose"
)

// Integration tests run the mixin in-process against the real Docker
// Engine, with STACKHUB_CONTEXT absent (plain Porter behaviour). They use
// installation names "shtest-<random>-..." and a port range of their own
// (portRange in the step), remove everything they create, and fail when no
// daemon answers.

const itRangeMin, itRangeMax = 19001, 19499

func itDocker(t *testing.T) *client.Client {
	t.Helper()
	c, err := compose.NewClient()
	require.NoError(t, err)
	_, err = c.Ping(t.Context(), client.PingOptions{})
	require.NoError(t, err, "integration tests need a Docker daemon (DOCKER_HOST or /var/run/docker.sock)")
	for _, img := range []string{"stackhub-test/hello:1", "stackhub-test/db:1"} {
		if _, err := c.ImageInspect(t.Context(), img); err != nil {
			out, berr := exec.CommandContext(t.Context(), "../testdata/images/build.sh").CombinedOutput()
			require.NoError(t, berr, "build test images: %s", out)
			break
		}
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func itName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "shtest-" + hex.EncodeToString(b)
}

type itInstall struct {
	name, project, root string
	m                   *Mixin
	stdout, stderr      *bytes.Buffer
}

// newItInstall prepares an installation of a fixture bundle and registers
// its purge for cleanup.
func newItInstall(t *testing.T, d *client.Client, bundle, name string) *itInstall {
	t.Helper()
	in := &itInstall{name: name, project: "stackhub-" + name, root: testBundle(t, bundle),
		stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	env := map[string]string{"PORTER_INSTALLATION_NAME": name}
	in.m = &Mixin{Out: in.stdout, Err: in.stderr, Root: in.root, Docker: d, Getenv: func(k string) string { return env[k] }}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		_, err := compose.Down(ctx, d, in.project, compose.DownOptions{Purge: true}, io.Discard)
		assert.NoError(t, err)
	})
	return in
}

// run executes one verb with a step built from YAML.
func (in *itInstall) run(t *testing.T, action, step string) int {
	t.Helper()
	args := []string{action}
	key := action
	if action != "install" && action != "upgrade" && action != "uninstall" {
		args = []string{"invoke", "--action", action}
	}
	in.m.In = strings.NewReader(key + ":\n  - stackhub:\n" + indent(step, "      "))
	in.stdout.Reset()
	in.stderr.Reset()
	return in.m.Run(t.Context(), args)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func (in *itInstall) output(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.root, "porter", "outputs", name))
	require.NoError(t, err, "output %s", name)
	return string(b)
}

func (in *itInstall) port(t *testing.T, name string) int {
	t.Helper()
	p, err := strconv.Atoi(in.output(t, name))
	require.NoError(t, err)
	return p
}

func helloStep(rangeMin int) string {
	return fmt.Sprintf(`compose: docker-compose.yml
ports:
  - {name: port, service: web, target: 8080}
portRange: {min: %d, max: %d}
wait: {timeout: 90s}
outputs:
  - {name: port, port: port}
  - {name: containerName, container: main}
`, rangeMin, itRangeMax)
}

const helloDBStep = `compose: docker-compose.yml
main: web
ports:
  - {name: port, service: web, target: 8080}
  - {name: db_port, service: db, target: 5432}
portRange: {min: 19001, max: 19499}
secrets:
  - {name: db_password, length: 24}
env: {APP_TITLE: "%s"}
wait: {timeout: 90s}
outputs:
  - {name: port, port: port}
  - {name: db_port, port: db_port}
  - {name: containerName, container: main}
  - {name: db_password, secret: db_password}
`

func httpGet(t *testing.T, port int) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	var last error
	for range 20 {
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			last = fmt.Errorf("status %d, read %w", resp.StatusCode, rerr)
		} else {
			last = err
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.NoError(t, last, "GET on port %d", port)
	return ""
}

// dbCall talks to the fixture database: AUTH, then one command.
func dbCall(t *testing.T, port int, password, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	r := bufio.NewReader(conn)
	fmt.Fprintf(conn, "AUTH %s\n", password)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "OK", strings.TrimSpace(line), "auth with the generated password")
	fmt.Fprintln(conn, cmd)
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

func projectResources(t *testing.T, d *client.Client, project string) (containers, networks, volumes []string) {
	t.Helper()
	f := make(client.Filters).Add("label", contract.LabelProject+"="+project)
	cs, err := d.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: f})
	require.NoError(t, err)
	for _, c := range cs.Items {
		containers = append(containers, c.Names[0])
	}
	ns, err := d.NetworkList(t.Context(), client.NetworkListOptions{Filters: f})
	require.NoError(t, err)
	for _, n := range ns.Items {
		networks = append(networks, n.Name)
	}
	vs, err := d.VolumeList(t.Context(), client.VolumeListOptions{Filters: f})
	require.NoError(t, err)
	for _, v := range vs.Items {
		volumes = append(volumes, v.Name)
	}
	return containers, networks, volumes
}

func TestIntegrationConcurrentInstalls(t *testing.T) {
	d := itDocker(t)
	const n = 20
	base := itName(t)
	installs := make([]*itInstall, n)
	for i := range installs {
		installs[i] = newItInstall(t, d, "hello", fmt.Sprintf("%s-%02d", base, i))
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, in := range installs {
		wg.Go(func() {
			<-start
			codes[i] = in.run(t, "install", helloStep(itRangeMin))
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("20 concurrent installs took %s", time.Since(began).Round(time.Millisecond))
	seen := map[int]string{}
	for i, in := range installs {
		require.Equal(t, 0, codes[i], "install %s: %s\n%s", in.name, in.stdout, in.stderr)
		port := in.port(t, "port")
		assert.Empty(t, seen[port], "port %d given to %s and %s", port, seen[port], in.name)
		seen[port] = in.name
		assert.Equal(t, in.project, in.output(t, "containerName"))
		assert.Contains(t, httpGet(t, port), "hello from ", "app of %s answers on %d", in.name, port)
	}
	assert.Len(t, seen, n, "disjoint ports")
	t.Logf("20 concurrent installs got ports %v", seen)
}

func TestIntegrationSkipsHostListener(t *testing.T) {
	d := itDocker(t)
	// Hold the first free port of a sub-range with a plain host listener.
	var ln net.Listener
	var held int
	for p := 19500; p < 19600; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err == nil {
			ln, held = l, p
			break
		}
	}
	require.NotNil(t, ln)
	t.Cleanup(func() { _ = ln.Close() })
	in := newItInstall(t, d, "hello", itName(t))
	step := strings.Replace(helloStep(held), fmt.Sprint(itRangeMax), fmt.Sprint(held+50), 1)
	require.Equal(t, 0, in.run(t, "install", step), "%s\n%s", in.stdout, in.stderr)
	port := in.port(t, "port")
	assert.NotEqual(t, held, port, "the held port is skipped")
	assert.Greater(t, port, held)
	assert.Contains(t, httpGet(t, port), "hello from ")
}

func TestIntegrationPinnedTakenPort(t *testing.T) {
	d := itDocker(t)
	ln, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	held := ln.Addr().(*net.TCPAddr).Port
	in := newItInstall(t, d, "hello", itName(t))
	step := fmt.Sprintf("compose: docker-compose.yml\nports:\n  - {name: port, service: web, target: 8080, host: %d}\n", held)
	require.Equal(t, 1, in.run(t, "install", step))
	msg := in.stderr.String()
	assert.Contains(t, msg, fmt.Sprintf("host port %d/tcp is already in use", held))
	assert.Contains(t, msg, fmt.Sprintf("process %d (", os.Getpid()), "names the holding process")
	assert.Contains(t, msg, "Hint:")
	cs, ns, vs := projectResources(t, d, in.project)
	assert.Empty(t, cs)
	assert.Empty(t, ns)
	assert.Empty(t, vs)
}

func TestIntegrationUpgradeKeepsPortsAndData(t *testing.T) {
	d := itDocker(t)
	in := newItInstall(t, d, "hello-db", itName(t))
	require.Equal(t, 0, in.run(t, "install", fmt.Sprintf(helloDBStep, "one")), "%s\n%s", in.stdout, in.stderr)
	port, dbPort, pw := in.port(t, "port"), in.port(t, "db_port"), in.output(t, "db_password")
	assert.Len(t, pw, 24)
	assert.Contains(t, httpGet(t, port), "(one)")
	assert.Equal(t, "OK", dbCall(t, dbPort, pw, "PUT greeting kept-across-upgrade"))
	before, err := compose.Containers(t.Context(), d, in.project)
	require.NoError(t, err)

	// Change both services: the title (web) and an env var of db, so that
	// both containers are recreated.
	file := filepath.Join(in.root, "docker-compose.yml")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, bytes.Replace(b, []byte(`DATA_DIR: /data`), []byte("DATA_DIR: /data\n      DB_GENERATION: \"2\""), 1), 0o644))
	require.Equal(t, 0, in.run(t, "upgrade", fmt.Sprintf(helloDBStep, "two")), "%s\n%s", in.stdout, in.stderr)
	after, err := compose.Containers(t.Context(), d, in.project)
	require.NoError(t, err)
	require.Len(t, after, 2)
	for i := range after {
		assert.NotEqual(t, before[i].ID, after[i].ID, "%s was recreated", after[i].Name)
	}
	assert.Equal(t, port, in.port(t, "port"), "web port kept")
	assert.Equal(t, dbPort, in.port(t, "db_port"), "db port kept")
	assert.Equal(t, pw, in.output(t, "db_password"), "secret kept")
	assert.Contains(t, httpGet(t, port), "(two)")
	assert.Equal(t, "VALUE kept-across-upgrade", dbCall(t, dbPort, pw, "GET greeting"), "volume data kept")

	// Restart keeps ports too.
	require.Equal(t, 0, in.run(t, "restart", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
	assert.Equal(t, "VALUE kept-across-upgrade", dbCall(t, dbPort, pw, "GET greeting"))

	// exec runs a command in a running service (a backup action's dump):
	// its output is the step's, the app keeps running, and a failing
	// command fails the step with its status.
	exec := "compose: docker-compose.yml\noperation: exec\nservice: db\ncommand: [/app, dump, /data, /data/dump.db]\n"
	require.Equal(t, 0, in.run(t, "backup", exec), "%s\n%s", in.stdout, in.stderr)
	assert.Contains(t, in.stdout.String(), "dumped 1 entries into /data/dump.db")
	assert.Equal(t, "VALUE kept-across-upgrade", dbCall(t, dbPort, pw, "GET greeting"), "the db kept running")
	assert.Equal(t, 1, in.run(t, "backup", "compose: docker-compose.yml\noperation: exec\nservice: db\ncommand: [/app, dump]\n"))
	assert.Contains(t, in.stderr.String(), `"/app" exited with status 1`)
	assert.Equal(t, 1, in.run(t, "backup", "compose: docker-compose.yml\noperation: exec\nservice: cache\ncommand: [/app]\n"))
	assert.Contains(t, in.stderr.String(), "service cache has no container")
}

func TestIntegrationUninstallKeepsVolumesUnlessPurged(t *testing.T) {
	d := itDocker(t)
	in := newItInstall(t, d, "hello-db", itName(t))
	require.Equal(t, 0, in.run(t, "install", fmt.Sprintf(helloDBStep, "one")), "%s\n%s", in.stdout, in.stderr)
	pw := in.output(t, "db_password")
	require.Equal(t, "OK", dbCall(t, in.port(t, "db_port"), pw, "PUT note survives-uninstall"))

	require.Equal(t, 0, in.run(t, "uninstall", "compose: docker-compose.yml\n"), "%s\n%s", in.stdout, in.stderr)
	cs, ns, vs := projectResources(t, d, in.project)
	assert.Empty(t, cs, "containers removed")
	assert.Empty(t, ns, "networks removed")
	assert.ElementsMatch(t, []string{in.project + "_data", in.project + "_stackhub-state"}, vs, "volumes kept")

	// A reinstall finds the data and the password it was written with.
	require.Equal(t, 0, in.run(t, "install", fmt.Sprintf(helloDBStep, "again")), "%s\n%s", in.stdout, in.stderr)
	assert.Equal(t, pw, in.output(t, "db_password"))
	assert.Equal(t, "VALUE survives-uninstall", dbCall(t, in.port(t, "db_port"), pw, "GET note"))

	require.Equal(t, 0, in.run(t, "uninstall", "compose: docker-compose.yml\npurge: true\n"), "%s\n%s", in.stdout, in.stderr)
	cs, ns, vs = projectResources(t, d, in.project)
	assert.Empty(t, cs)
	assert.Empty(t, ns)
	assert.Empty(t, vs, "purge removes volumes")
}

func TestIntegrationFailingHealthcheckLeavesNothing(t *testing.T) {
	d := itDocker(t)
	in := newItInstall(t, d, "hello-db", itName(t))
	breakDBHealthcheck(t, in)

	require.Equal(t, 1, in.run(t, "install", fmt.Sprintf(helloDBStep, "doomed")))
	msg := in.stderr.String()
	assert.Contains(t, msg, "-db (service db) is unhealthy")
	assert.Contains(t, msg, "this healthcheck always fails")
	assert.Contains(t, msg, "db listening on :5432", "last log lines")
	cs, ns, vs := projectResources(t, d, in.project)
	assert.Empty(t, cs, "containers removed")
	assert.Empty(t, ns, "networks removed")
	assert.Empty(t, vs, "volumes removed")
}

func TestIntegrationFailedUpgradeRestoresPrevious(t *testing.T) {
	d := itDocker(t)
	in := newItInstall(t, d, "hello-db", itName(t))
	require.Equal(t, 0, in.run(t, "install", fmt.Sprintf(helloDBStep, "one")), "%s\n%s", in.stdout, in.stderr)
	port, dbPort, pw := in.port(t, "port"), in.port(t, "db_port"), in.output(t, "db_password")
	require.Equal(t, "OK", dbCall(t, dbPort, pw, "PUT greeting survives-a-failed-upgrade"))
	before, err := compose.Containers(t.Context(), d, in.project)
	require.NoError(t, err)

	// The new db never becomes healthy, so the new web never starts.
	breakDBHealthcheck(t, in)
	require.Equal(t, contract.ExitUpgradeUndone, in.run(t, "upgrade", fmt.Sprintf(helloDBStep, "two")), "the exit status says the upgrade was undone")
	assert.Contains(t, in.stderr.String(), "is unhealthy")
	assert.Contains(t, in.stderr.String(), "the upgrade was undone and the previous version runs again")

	after, err := compose.Containers(t.Context(), d, in.project)
	require.NoError(t, err)
	require.Len(t, after, len(before), "no new or set-aside container is left")
	for i := range after {
		assert.Equal(t, before[i].ID, after[i].ID, "%s is the previous container", after[i].Name)
		assert.Equal(t, before[i].Name, after[i].Name)
		assert.Equal(t, "running", after[i].State, after[i].Name)
	}
	assert.Contains(t, httpGet(t, port), "(one)", "the previous web answers on its port")
	for i := 0; i < 50; i++ { // the previous db was started again: wait for its listener
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", dbPort), time.Second); err == nil {
			conn.Close()
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, "VALUE survives-a-failed-upgrade", dbCall(t, dbPort, pw, "GET greeting"), "the previous db answers with its data")
}

// breakDBHealthcheck makes the db service's healthcheck always fail, after
// two tries.
func breakDBHealthcheck(t *testing.T, in *itInstall) {
	t.Helper()
	file := filepath.Join(in.root, "docker-compose.yml")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	b = bytes.Replace(b, []byte(`test: ["CMD", "/app", "healthcheck", "tcp", "127.0.0.1:5432"]`), []byte(`test: ["CMD", "/app", "healthcheck", "fail"]`), 1)
	b = bytes.Replace(b, []byte("retries: 10\n\nvolumes"), []byte("retries: 2\n\nvolumes"), 1)
	require.NoError(t, os.WriteFile(file, b, 0o644))
}

package engine_test

import (
	"encoding/json"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/manifest"
)

func permissionsOf(t *testing.T, fsys fs.FS) *engine.Permissions {
	t.Helper()
	data, err := fs.ReadFile(fsys, "porter.yaml")
	require.NoError(t, err)
	m, err := manifest.Parse(data, "porter.yaml")
	require.NoError(t, err)
	return engine.BundlePermissions(fsys, m)
}

// TestBuiltinPermissions: the built-in apps need the Docker socket for
// their invocation image, publish their leased ports and mount only
// named volumes, so an operator may install them.
func TestBuiltinPermissions(t *testing.T) {
	want := map[string]string{
		"wordpress": `{"dockerSocket":true,"privileged":[],"hostNamespaces":[],"hostPaths":[],"ports":[` +
			`{"service":"wordpress","target":80,"protocol":"tcp","host":0},` +
			`{"service":"db","target":3306,"protocol":"tcp","host":0,"hostIP":"127.0.0.1"}],"devices":[],"capabilities":[]}`,
		"redmine": `{"dockerSocket":true,"privileged":[],"hostNamespaces":[],"hostPaths":[],"ports":[` +
			`{"service":"redmine","target":3000,"protocol":"tcp","host":0},` +
			`{"service":"db","target":3306,"protocol":"tcp","host":0,"hostIP":"127.0.0.1"}],"devices":[],"capabilities":[]}`,
		"gitea": `{"dockerSocket":true,"privileged":[],"hostNamespaces":[],"hostPaths":[],"ports":[` +
			`{"service":"gitea","target":3000,"protocol":"tcp","host":0},` +
			`{"service":"gitea","target":22,"protocol":"tcp","host":0}],"devices":[],"capabilities":[]}`,
	}
	for app, js := range want {
		t.Run(app, func(t *testing.T) {
			sub, err := fs.Sub(bundles.FS, app)
			require.NoError(t, err)
			p := permissionsOf(t, sub)
			got, err := json.Marshal(p)
			require.NoError(t, err)
			assert.JSONEq(t, js, string(got))
			assert.Empty(t, p.PrivilegedRequests())
		})
	}
}

const privManifest = `schemaVersion: 1.0.1
name: probe
version: 0.1.0
registry: localhost/stackhub
mixins: [stackhub]
required:
  - docker:
      privileged: true
install:
  - stackhub:
      description: deploy
      compose: [compose.yml, missing.yml]
      ports:
        - {name: port, service: agent, target: 9000}
upgrade:
  - stackhub: {description: up, compose: compose.yml}
uninstall:
  - stackhub: {description: down, compose: compose.yml}
`

const privCompose = `services:
  agent:
    image: agent:1
    privileged: true
    network_mode: host
    pid: host
    cap_add: [NET_ADMIN]
    devices: ["/dev/kvm:/dev/kvm"]
    ports: ["127.0.0.1:8443:443", "53:53/udp", "80"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /:/host:ro,rslave
      - ./conf:/conf
      - data:/data
      - {type: bind, source: /etc, target: /host-etc, read_only: true}
      - {type: volume, source: cache, target: /cache}
volumes:
  data:
  cache:
`

func TestPrivilegedPermissions(t *testing.T) {
	fsys := fstest.MapFS{"porter.yaml": {Data: []byte(privManifest)}, "compose.yml": {Data: []byte(privCompose)}}
	p := permissionsOf(t, fsys)
	assert.True(t, p.DockerSocket)
	assert.Equal(t, []string{"invocation image", "agent"}, p.Privileged)
	assert.Equal(t, []string{"agent: network", "agent: pid"}, p.HostNamespaces)
	assert.Equal(t, []string{"agent: /dev/kvm"}, p.Devices)
	assert.Equal(t, []string{"agent: NET_ADMIN"}, p.Capabilities)
	assert.Equal(t, []engine.HostPathMount{
		{Service: "agent", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"},
		{Service: "agent", Source: "/", Target: "/host", ReadOnly: true},
		{Service: "agent", Source: "./conf", Target: "/conf"},
		{Service: "agent", Source: "/etc", Target: "/host-etc", ReadOnly: true},
	}, p.HostPaths)
	assert.Equal(t, []engine.PublishedPortSpec{
		{Service: "agent", Target: 9000, Protocol: "tcp"},
		{Service: "agent", Target: 443, Protocol: "tcp", Host: 8443, HostIP: "127.0.0.1"},
		{Service: "agent", Target: 53, Protocol: "udp", Host: 53},
	}, p.Ports)
	assert.Contains(t, p.Incomplete, "missing.yml")
	assert.Equal(t, []string{
		"privileged: invocation image", "privileged: agent", "host namespace agent: network", "host namespace agent: pid",
		"device agent: /dev/kvm", "capability agent: NET_ADMIN", "host path /var/run/docker.sock (service agent)",
		"host path / (service agent)", "host path /etc (service agent)",
	}, p.PrivilegedRequests())
}

// TestInstallNeedsConsent: a bundle with privileged requests installs only
// with AllowPrivileged, and the refusal names every request.
func TestInstallNeedsConsent(t *testing.T) {
	e := newTestEngineWith(t, func(_ *engine.Config, deps *engine.Deps) {
		deps.Catalog = engine.NewDirCatalog(fstest.MapFS{
			"probe/porter.yaml": {Data: []byte(privManifest)}, "probe/compose.yml": {Data: []byte(privCompose)},
		})
	}, nil)
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "probe", SkipPreflight: true})
	require.ErrorIs(t, err, engine.ErrForbidden)
	assert.Contains(t, err.Error(), "probe asks for privileged access to the host: privileged: invocation image; privileged: agent")
	assert.Contains(t, err.Error(), "host path /var/run/docker.sock")
	assert.Contains(t, engine.HintOf(err), "--allow privileged")
	_, err = e.store.GetInstallation(t.Context(), "", "probe")
	require.ErrorIs(t, err, engine.ErrNotFound, "a refused install records nothing")

	inst, err := e.Install(t.Context(), engine.InstallOptions{App: "probe", SkipPreflight: true, AllowPrivileged: true})
	require.NoError(t, err)
	assert.Equal(t, "probe", inst.Name)
}

// TestUpgradeNeedsConsent: upgrading to a catalog version with privileged
// requests needs the consent again.
func TestUpgradeNeedsConsent(t *testing.T) {
	e := newTestEngineWith(t, func(_ *engine.Config, deps *engine.Deps) {
		deps.Catalog = engine.NewDirCatalog(fstest.MapFS{
			"probe/porter.yaml": {Data: []byte(privManifest)}, "probe/compose.yml": {Data: []byte(privCompose)},
		})
	}, nil)
	_, err := e.Install(t.Context(), engine.InstallOptions{App: "probe", SkipPreflight: true, AllowPrivileged: true})
	require.NoError(t, err)
	waitStatus(t, e, "probe", engine.StatusRunning)
	_, err = e.Upgrade(t.Context(), engine.UpgradeOptions{Name: "probe"})
	require.ErrorIs(t, err, engine.ErrForbidden)
	assert.Contains(t, err.Error(), "asks for privileged access")
	_, err = e.Upgrade(t.Context(), engine.UpgradeOptions{Name: "probe", AllowPrivileged: true})
	require.NoError(t, err)
}

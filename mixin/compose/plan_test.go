package compose

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/contract"
)

func loadPlan(t *testing.T, yml string, o Options) (*Plan, error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "compose.yml"), []byte(yml), 0o644))
	o.WorkingDir, o.Files = dir, []string{"compose.yml"}
	if o.Project == "" {
		o.Project = "stackhub-app"
	}
	p, err := Load(t.Context(), &o)
	if err != nil {
		return nil, err
	}
	return BuildPlan(o, p, map[string]string{})
}

const twoServices = `
services:
  web:
    image: web:1
    ports: ["8080:80", "9443:443", "53:53/udp"]
    depends_on: {db: {condition: service_healthy}}
    restart: on-failure:3
  db:
    image: db:1
  sidecar:
    image: sidecar:1
    network_mode: "service:web"
`

func TestBuildPlan(t *testing.T) {
	ports := []Port{{Name: "http", Service: "web", Target: 80, Host: 9001}}
	plan, err := loadPlan(t, twoServices, Options{Ports: ports, Installation: "app"})
	require.NoError(t, err)

	assert.Equal(t, []string{"db", "web", "sidecar"}, plan.Order, "dependencies first")
	assert.Equal(t, "web", plan.Options.Main, "main defaults to the first service of the file")
	web, db := plan.Services["web"], plan.Services["db"]
	assert.Equal(t, "stackhub-app", web.Name)
	assert.Equal(t, "stackhub-app-db", db.Name)

	pb := web.Create.HostConfig.PortBindings
	assert.Equal(t, "9001", pb[network.MustParsePort("80/tcp")][0].HostPort, "declared port replaces 8080:80")
	assert.Equal(t, "9443", pb[network.MustParsePort("443/tcp")][0].HostPort, "undeclared mapping kept")
	assert.Equal(t, "53", pb[network.MustParsePort("53/udp")][0].HostPort)
	assert.Equal(t, "9001", web.Create.Config.Labels[contract.LabelPortPrefix+"http"])
	assert.Equal(t, "true", web.Create.Config.Labels[contract.LabelMain])
	assert.Equal(t, "db:service_healthy:false", web.Create.Config.Labels[LabelDependsOn])
	assert.Equal(t, container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3}, web.Create.HostConfig.RestartPolicy)
	assert.Equal(t, container.RestartPolicyUnlessStopped, db.Create.HostConfig.RestartPolicy.Name, "default restart policy")
	assert.Equal(t, container.NetworkMode("container:stackhub-app"), plan.Services["sidecar"].Create.HostConfig.NetworkMode)
	assert.Equal(t, map[string]string{"db": "service_healthy"}, web.DependsOn)
	for _, l := range []string{contract.LabelProject, contract.LabelService, LabelNumber, LabelOneoff, LabelWorkingDir, LabelConfigFiles, LabelConfigHash, LabelVersion, contract.LabelManaged, contract.LabelInstallation} {
		assert.NotEmpty(t, web.Create.Config.Labels[l], l)
	}
	require.Len(t, plan.Networks, 1)
	assert.Equal(t, "stackhub-app_default", plan.Networks[0].Name)
}

func TestConfigHash(t *testing.T) {
	a, err := loadPlan(t, twoServices, Options{})
	require.NoError(t, err)
	b, err := loadPlan(t, twoServices, Options{})
	require.NoError(t, err)
	assert.Equal(t, a.Services["web"].Hash, b.Services["web"].Hash, "stable, and independent of the bundle's directory")
	c, err := loadPlan(t, twoServices, Options{Ports: []Port{{Name: "http", Service: "web", Target: 80, Host: 9002}}})
	require.NoError(t, err)
	assert.NotEqual(t, a.Services["web"].Hash, c.Services["web"].Hash, "a new port recreates")
	assert.Equal(t, a.Services["db"].Hash, c.Services["db"].Hash, "other services untouched")
}

func TestBuildPlanInterpolation(t *testing.T) {
	plan, err := loadPlan(t, `
services:
  app:
    image: app:${TAG:-1}
    environment: {PASSWORD: "${DB_PASSWORD}", URL: "http://localhost:${STACKHUB_PORT_PORT}"}
`, Options{Env: map[string]string{"DB_PASSWORD": "s3cret", "STACKHUB_PORT_PORT": "9005", "TAG": "2"}})
	require.NoError(t, err)
	cfg := plan.Services["app"].Create.Config
	assert.Equal(t, "app:2", cfg.Image)
	assert.Equal(t, []string{"PASSWORD=s3cret", "URL=http://localhost:9005"}, cfg.Env)
}

func TestBuildPlanErrors(t *testing.T) {
	tests := []struct {
		name    string
		yml     string
		opts    Options
		wantErr string
		is      error
	}{
		{"replicas", "services:\n  a:\n    image: a\n    deploy: {replicas: 2}\n", Options{}, "more than one replica", ErrUnsupported},
		{"cycle", "services:\n  a:\n    image: a\n    depends_on: [b]\n  b:\n    image: b\n    depends_on: [a]\n", Options{}, "cycle", nil},
		{"unknown main", "services:\n  a:\n    image: a\n", Options{Main: "web"}, `main service "web" is not defined`, nil},
		{"port on unknown service", "services:\n  a:\n    image: a\n", Options{Ports: []Port{{Name: "p", Service: "b", Target: 1, Host: 2}}}, `port "p" names service "b"`, nil},
		{"bad restart", "services:\n  a:\n    image: a\n    restart: sometimes\n", Options{}, "unknown restart policy", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadPlan(t, tt.yml, tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			if tt.is != nil {
				assert.True(t, errors.Is(err, tt.is), "wraps %v", tt.is)
			}
			var h interface{ Hint() string }
			if errors.As(err, &h) {
				assert.NotEmpty(t, h.Hint())
			}
		})
	}
}

func TestSortByDeps(t *testing.T) {
	cs := sortByDeps([]ContainerState{
		{Service: "web", deps: []string{"cache", "db"}},
		{Service: "db"},
		{Service: "cache", deps: []string{"db"}},
	})
	var got []string
	for _, c := range cs {
		got = append(got, c.Service)
	}
	assert.Equal(t, []string{"db", "cache", "web"}, got)
}

func TestPrefixWriter(t *testing.T) {
	var sb stringsBuilder
	w := &prefixWriter{w: &sb, prefix: "db | "}
	_, err := w.Write([]byte("one\ntw"))
	require.NoError(t, err)
	_, err = w.Write([]byte("o\n"))
	require.NoError(t, err)
	assert.Equal(t, "db | one\ndb | two\n", sb.String())
}

type stringsBuilder struct{ b []byte }

func (s *stringsBuilder) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }
func (s *stringsBuilder) String() string              { return string(s.b) }

func TestPortInUseMessage(t *testing.T) {
	for _, msg := range []string{
		"driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:9007 failed: port is already allocated",
		"Error starting userland proxy: listen tcp4 0.0.0.0:9007: bind: address already in use",
		"Error starting userland proxy: listen tcp6 [::]:9007: bind: address already in use",
	} {
		m := portInUseRE.FindStringSubmatch(msg)
		require.NotNil(t, m, msg)
		assert.Equal(t, "9007", m[1])
	}
}

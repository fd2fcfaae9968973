package bundles_test

import (
	"encoding/xml"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/bundles"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/mixin"
	"github.com/stackhub/stackhub/mixin/compose"
)

// stateful are image repositories of databases and caches: their ports
// are never published on all interfaces.
var stateful = regexp.MustCompile(`(^|/)(mysql|mariadb|postgres|postgis/postgis|redis|valkey|mongo|memcached|clickhouse/clickhouse-server|elasticsearch|opensearchproject/opensearch|couchdb|rabbitmq)$`)

// paramTemplate is a step value that is one parameter.
var paramTemplate = regexp.MustCompile(`^\$\{ *bundle\.parameters\.([A-Za-z0-9_-]+) *\}$`)

// builtIn returns the built-in catalog's app folders.
func builtIn(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(bundles.FS, ".")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestBuiltInCatalogSize holds the catalog to the thirty apps of issue 13.
func TestBuiltInCatalogSize(t *testing.T) {
	assert.GreaterOrEqual(t, len(builtIn(t)), 30)
}

// TestBundlePolicy checks what every built-in app promises its users: full
// catalog metadata in both languages, an icon, a README, pinned images,
// healthchecks, data in named volumes, nothing privileged, databases and
// caches reachable from the host only, and generated secrets kept over
// upgrades. The compose file goes through the mixin's own loader and
// planner, so the containers checked are the ones it would create.
func TestBundlePolicy(t *testing.T) {
	for _, name := range builtIn(t) {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(bundles.FS, name+"/porter.yaml")
			require.NoError(t, err)
			m, err := manifest.Parse(data, name+"/porter.yaml")
			require.NoError(t, err)

			// Metadata (docs/catalog.md).
			_, ok := m.Custom[catalog.Key].(map[string]any)
			require.True(t, ok, "porter.yaml has custom.stackhub")
			meta := catalog.MetaFrom(m.Custom, name, m.Description)
			assert.Empty(t, meta.Problems())
			assert.NotEmpty(t, meta.Keywords, "keywords")
			checkIcon(t, name+"/"+meta.Icon)
			readme, err := fs.ReadFile(bundles.FS, name+"/README.md")
			require.NoError(t, err)
			assert.Contains(t, string(readme), "## ", "the README has sections")
			assert.Contains(t, string(readme), "## 中文说明", "the README speaks Chinese too")
			for _, p := range catalog.Params(m) {
				assert.NotEmpty(t, p.Descriptions.En, "parameter %s says what it is for", p.Name)
				assert.NotEmpty(t, p.Descriptions.Zh, "parameter %s says it in Chinese too", p.Name)
			}
			for _, o := range catalog.Outputs(m) {
				assert.NotEmpty(t, o.Descriptions.En, "output %s says what it is", o.Name)
				assert.NotEmpty(t, o.Descriptions.Zh, "output %s says it in Chinese too", o.Name)
			}

			step := installStep(t, m)
			upgrade := stepOf(t, m, manifest.ActionUpgrade)
			assert.Equal(t, step.Secrets, upgrade.Secrets, "upgrade keeps the install's secrets")
			assert.Equal(t, step.Ports, upgrade.Ports, "upgrade keeps the install's ports")
			checkSecrets(t, m, step)
			checkOutputs(t, m, meta, step)

			plan := planOf(t, name, m, step)
			for svc, spec := range plan.Services {
				cfg, hc := spec.Create.Config, spec.Create.HostConfig
				assert.True(t, pinned(cfg.Image), "service %s: image %q must carry a version tag (not latest) or a digest", svc, cfg.Image)
				assert.False(t, hc.Privileged, "service %s runs privileged", svc)
				assert.NotEqual(t, "host", string(hc.NetworkMode), "service %s uses the host's network", svc)
				assert.NotEqual(t, "host", string(hc.PidMode), "service %s uses the host's PID namespace", svc)
				assert.Empty(t, hc.Binds, "service %s: keep data in named volumes, not host paths", svc)
				for _, mt := range hc.Mounts {
					assert.NotEqual(t, "bind", string(mt.Type), "service %s binds %s", svc, mt.Source)
				}
				if assert.NotNil(t, cfg.Healthcheck, "service %s has a healthcheck", svc) {
					assert.NotEmpty(t, cfg.Healthcheck.Test, "service %s has a healthcheck", svc)
					assert.NotEqual(t, "NONE", cfg.Healthcheck.Test[0], "service %s disables its healthcheck", svc)
				}
				if stateful.MatchString(repository(cfg.Image)) {
					for port, bindings := range hc.PortBindings {
						for _, b := range bindings {
							assert.True(t, b.HostIP.IsLoopback(), "service %s (%s) publishes %s on %v: databases and caches listen on 127.0.0.1 only", svc, cfg.Image, port, b.HostIP)
						}
					}
				}
			}
			if meta.Web != nil {
				p := portNamed(step, meta.Web.Port)
				if assert.NotNil(t, p, "web port %q is declared", meta.Web.Port) {
					assert.Equal(t, meta.Web.Service, p.Service, "web service")
				}
			}
		})
	}
}

// TestPinned checks the tag rule on its own.
func TestPinned(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"mariadb:10.11", true},
		{"ghcr.io/usememos/memos:0.22.3", true},
		{"localhost:5000/app", false},
		{"localhost:5000/app:1.2", true},
		{"nginx", false},
		{"nginx:latest", false},
		{"nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			assert.Equal(t, tt.want, pinned(tt.ref))
			assert.NotContains(t, repository(tt.ref), ":1")
		})
	}
}

// pinned reports whether ref names a version: a digest, or a tag other
// than latest.
func pinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(last, ":")
	return i >= 0 && last[i+1:] != "" && last[i+1:] != "latest"
}

// repository strips ref's tag and digest.
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		ref = ref[:i]
	}
	return ref
}

func checkIcon(t *testing.T, path string) {
	t.Helper()
	data, err := fs.ReadFile(bundles.FS, path)
	require.NoError(t, err, "the icon exists")
	var doc struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
	}
	require.NoError(t, xml.Unmarshal(data, &doc), "the icon is well-formed XML")
	assert.Equal(t, "svg", doc.XMLName.Local)
	assert.Equal(t, "http://www.w3.org/2000/svg", doc.XMLName.Space)
	assert.NotEmpty(t, doc.ViewBox, "the icon scales (viewBox)")
	assert.NotContains(t, string(data), "<script", "the icon runs no script")
	assert.NotContains(t, string(data), "href=\"http", "the icon loads nothing")
}

func stepOf(t *testing.T, m *manifest.Manifest, action string) *mixin.Step {
	t.Helper()
	for _, s := range m.Actions[action] {
		if s.Mixin != mixin.Name {
			continue
		}
		raw, err := yaml.Marshal(s.Data)
		require.NoError(t, err)
		var st mixin.Step
		require.NoError(t, yaml.Unmarshal(raw, &st))
		return &st
	}
	require.Failf(t, "no stackhub step", "the %s action has no stackhub step", action)
	return nil
}

func installStep(t *testing.T, m *manifest.Manifest) *mixin.Step {
	t.Helper()
	return stepOf(t, m, manifest.ActionInstall)
}

func portNamed(s *mixin.Step, name string) *mixin.PortDecl {
	for i := range s.Ports {
		if s.Ports[i].Name == name {
			return &s.Ports[i]
		}
	}
	return nil
}

// checkSecrets: every generated secret comes back from its own output on
// upgrade (a sensitive parameter with source.output), and is reported as
// a sensitive output.
func checkSecrets(t *testing.T, m *manifest.Manifest, s *mixin.Step) {
	t.Helper()
	params := map[string]manifest.Parameter{}
	for _, p := range m.Parameters {
		params[p.Name] = p
	}
	outputs := map[string]manifest.Output{}
	for _, o := range m.Outputs {
		outputs[o.Name] = o
	}
	generated := catalog.GeneratedParams(m)
	for _, sec := range s.Secrets {
		ref := fmt.Sprintf("${ bundle.parameters.%s }", sec.Name)
		assert.Equal(t, ref, sec.Value, "secret %s takes its kept value from its parameter", sec.Name)
		p, ok := params[sec.Name]
		if assert.True(t, ok, "parameter %s", sec.Name) {
			assert.True(t, p.Sensitive, "parameter %s is sensitive", sec.Name)
			if assert.NotNil(t, p.Source, "parameter %s has a source", sec.Name) {
				assert.Equal(t, sec.Name, p.Source.Output, "parameter %s comes from its output", sec.Name)
			}
			assert.True(t, generated[sec.Name], "parameter %s is marked generated", sec.Name)
		}
		assert.True(t, outputs[sec.Name].Sensitive, "output %s is sensitive", sec.Name)
	}
}

// checkOutputs: web apps tell their URL, every app how to sign in or
// connect, and each step output is a declared bundle output.
func checkOutputs(t *testing.T, m *manifest.Manifest, meta catalog.Meta, s *mixin.Step) {
	t.Helper()
	declared := map[string]bool{}
	for _, o := range m.Outputs {
		declared[o.Name] = true
	}
	for _, o := range s.Outputs {
		assert.True(t, declared[o.Name], "step output %s is declared in outputs", o.Name)
	}
	if meta.Web != nil {
		assert.True(t, declared["url"], "the url output")
	} else {
		assert.True(t, declared["address"], "the address output")
	}
	login := false
	for name := range declared {
		if strings.HasPrefix(name, "admin_") || strings.HasSuffix(name, "password") {
			login = true
		}
	}
	assert.True(t, login || meta.Category == "networking", "an output tells the admin login")
}

// planOf loads the compose file through the mixin's loader and builds the
// containers it would create, with the parameters' defaults and made-up
// ports, secrets and images.
func planOf(t *testing.T, name string, m *manifest.Manifest, s *mixin.Step) *compose.Plan {
	t.Helper()
	defaults := map[string]string{}
	for _, p := range m.Parameters {
		if p.HasDefault {
			defaults[p.Name] = fmt.Sprint(p.Default)
		}
	}
	env := map[string]string{}
	for k, v := range s.Env {
		if g := paramTemplate.FindStringSubmatch(string(v)); g != nil {
			env[k] = defaults[g[1]]
		} else {
			env[k] = string(v)
		}
	}
	var ports []compose.Port
	for i, p := range s.Ports {
		host := 19000 + i
		env["STACKHUB_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = fmt.Sprint(host)
		ports = append(ports, compose.Port{Name: p.Name, Service: p.Service, Target: p.Target.N, Protocol: p.Protocol, Host: host, HostIP: p.HostIP})
	}
	for _, sec := range s.Secrets {
		env[strings.ToUpper(strings.ReplaceAll(sec.Name, "-", "_"))] = "secretvalue"
	}
	dir, err := filepath.Abs(name)
	require.NoError(t, err)
	o := compose.Options{Project: "stackhub-policy-" + name, Installation: name, WorkingDir: dir,
		Files: s.Compose, Env: env, Main: s.Main, Ports: ports}
	p, err := compose.Load(t.Context(), &o)
	require.NoError(t, err)
	ids := map[string]string{}
	for _, img := range compose.Images(p) {
		ids[img] = "sha256:0000"
	}
	plan, err := compose.BuildPlan(o, p, ids)
	require.NoError(t, err)
	return plan
}

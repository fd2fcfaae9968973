package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/mixin/compose"
	"github.com/stackhub/stackhub/mixin/stack"
)

const appCompose = `services:
  web:
    image: example/web:1
    command: ["serve", "--port", "8080"]
    environment:
      DB_ADDR: db:5432
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 2s
      timeout: 3s
      retries: 4
    ports:
      - "8443:8443"
    restart: unless-stopped
  db:
    image: example/db:1
    restart: "on-failure:3"
    volumes:
      - data:/data
    deploy:
      replicas: 1
      placement:
        constraints: ["node.labels.ssd == true"]
      resources:
        limits: {cpus: "0.5", memory: 256M}
      update_config:
        monitor: 20s
volumes:
  data: {}
`

func load(t *testing.T, file string) (compose.Options, *stack.Plan, error) {
	t.Helper()
	return loadWith(t, file, nil, nil)
}

// loadWith also writes extra files beside the compose file and passes env
// as the interpolation variables.
func loadWith(t *testing.T, file string, extra, env map[string]string) (compose.Options, *stack.Plan, error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(file), 0o644))
	for name, content := range extra {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	o := compose.Options{Project: "stackhub-shop", Installation: "shop", WorkingDir: dir, Files: []string{"docker-compose.yml"},
		Main: "web", Ports: []compose.Port{{Name: "port", Service: "web", Target: 8080, Host: 9001}}, Env: env}
	p, err := compose.Load(t.Context(), &o)
	require.NoError(t, err)
	plan, err := stack.Convert(o, p, stack.ConvertOptions{})
	return o, plan, err
}

func service(t *testing.T, plan *stack.Plan, name string) swarm.ServiceSpec {
	t.Helper()
	for _, s := range plan.Services {
		if s.Service == name {
			return s.Spec
		}
	}
	t.Fatalf("no service %s", name)
	return swarm.ServiceSpec{}
}

func TestConvert(t *testing.T) {
	_, plan, err := load(t, appCompose)
	require.NoError(t, err)
	require.Len(t, plan.Networks, 1)
	assert.Equal(t, "stackhub-shop_default", plan.Networks[0].Name)
	assert.Equal(t, "overlay", plan.Networks[0].Create.Driver)
	assert.Equal(t, "stackhub-shop", plan.Networks[0].Create.Labels[contract.LabelStack])

	web := service(t, plan, "web")
	assert.Equal(t, "stackhub-shop", web.Name, "the main service is named like the compose main container")
	assert.Equal(t, "true", web.Labels[contract.LabelMain])
	assert.Equal(t, "9001", web.Labels[contract.LabelPortPrefix+"port"])
	assert.Equal(t, "1", web.Labels[contract.LabelReplicas])
	cs := web.TaskTemplate.ContainerSpec
	assert.Equal(t, []string{"serve", "--port", "8080"}, cs.Args)
	assert.Contains(t, cs.Env, "DB_ADDR=db:5432")
	assert.Equal(t, "stackhub-shop", cs.Labels[contract.LabelProject])
	assert.Equal(t, "web", cs.Labels[contract.LabelService])
	require.NotNil(t, cs.Healthcheck)
	assert.Equal(t, 2*time.Second, cs.Healthcheck.Interval)
	assert.Equal(t, 4, cs.Healthcheck.Retries)
	assert.Equal(t, swarm.RestartPolicyConditionAny, web.TaskTemplate.RestartPolicy.Condition)
	assert.Equal(t, swarm.UpdateFailureActionRollback, web.UpdateConfig.FailureAction)
	assert.Equal(t, swarm.UpdateOrderStopFirst, web.UpdateConfig.Order)
	assert.Equal(t, stack.DefaultMonitor, web.UpdateConfig.Monitor)
	assert.Equal(t, []swarm.NetworkAttachmentConfig{{Target: "stackhub-shop_default", Aliases: []string{"web"}}}, web.TaskTemplate.Networks)
	assert.Equal(t, swarm.ResolutionModeVIP, web.EndpointSpec.Mode)
	assert.Equal(t, []swarm.PortConfig{
		{Protocol: "tcp", TargetPort: 8443, PublishedPort: 8443, PublishMode: swarm.PortConfigPublishModeIngress},
		{Name: "port", Protocol: "tcp", TargetPort: 8080, PublishedPort: 9001, PublishMode: swarm.PortConfigPublishModeIngress},
	}, web.EndpointSpec.Ports)

	db := service(t, plan, "db")
	assert.Equal(t, "stackhub-shop-db", db.Name)
	attempts := uint64(3)
	assert.Equal(t, &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: &attempts}, db.TaskTemplate.RestartPolicy)
	assert.Equal(t, []string{"node.labels.ssd == true"}, db.TaskTemplate.Placement.Constraints)
	assert.Equal(t, &swarm.Limit{NanoCPUs: 5e8, MemoryBytes: 256 << 20}, db.TaskTemplate.Resources.Limits)
	assert.Equal(t, 20*time.Second, db.UpdateConfig.Monitor)
	assert.Equal(t, swarm.UpdateFailureActionRollback, db.UpdateConfig.FailureAction, "kept from the default")
	require.Len(t, db.TaskTemplate.ContainerSpec.Mounts, 1)
	m := db.TaskTemplate.ContainerSpec.Mounts[0]
	assert.Equal(t, mount.TypeVolume, m.Type)
	assert.Equal(t, "stackhub-shop_data", m.Source)
	assert.Equal(t, "stackhub-shop", m.VolumeOptions.Labels[contract.LabelProject], "purge finds the volume by its labels")
	assert.Nil(t, db.EndpointSpec.Ports)
}

func TestConvertHostPorts(t *testing.T) {
	o, _, err := load(t, appCompose)
	require.NoError(t, err)
	p, err := compose.Load(t.Context(), &o)
	require.NoError(t, err)
	plan, err := stack.Convert(o, p, stack.ConvertOptions{HostPorts: true})
	require.NoError(t, err)
	web := service(t, plan, "web")
	assert.Equal(t, swarm.ResolutionModeDNSRR, web.EndpointSpec.Mode, "no virtual IP: no IPVS needed")
	for _, pc := range web.EndpointSpec.Ports {
		assert.Equal(t, swarm.PortConfigPublishModeHost, pc.PublishMode)
	}
}

const secretsCompose = `services:
  web:
    image: example/web:1
    secrets:
      - api_key
      - {source: db_password, target: /etc/app/db.pw, uid: "100", mode: 0400}
  db:
    image: example/db:1
    secrets: [db_password]
secrets:
  api_key: {file: ./api.key}
  db_password: {environment: DB_PASSWORD}
`

func TestConvertSecrets(t *testing.T) {
	env := map[string]string{"DB_PASSWORD": "s3cret"}
	_, plan, err := loadWith(t, secretsCompose, map[string]string{"api.key": "key-1"}, env)
	require.NoError(t, err)
	require.Len(t, plan.Secrets, 2)
	byKey := map[string]swarm.SecretSpec{}
	for _, s := range plan.Secrets {
		byKey[s.Key] = s.Spec
	}
	assert.Equal(t, []byte("key-1"), byKey["api_key"].Data)
	assert.Equal(t, []byte("s3cret"), byKey["db_password"].Data, "a generated secret reaches swarm through its variable")
	assert.Regexp(t, `^stackhub-shop_api_key_[0-9a-f]{12}$`, byKey["api_key"].Name)
	assert.Equal(t, "stackhub-shop", byKey["api_key"].Labels[contract.LabelStack], "uninstall finds it by its labels")
	assert.Equal(t, "api_key", byKey["api_key"].Labels[stack.LabelSecret])

	web := service(t, plan, "web").TaskTemplate.ContainerSpec
	assert.Equal(t, []*swarm.SecretReference{
		{File: &swarm.SecretReferenceFileTarget{Name: "/etc/app/db.pw", UID: "100", GID: "0", Mode: 0o400}, SecretName: byKey["db_password"].Name},
		{File: &swarm.SecretReferenceFileTarget{Name: "/run/secrets/api_key", UID: "0", GID: "0", Mode: 0o444}, SecretName: byKey["api_key"].Name},
	}, web.Secrets)
	db := service(t, plan, "db").TaskTemplate.ContainerSpec
	require.Len(t, db.Secrets, 1)
	assert.Equal(t, byKey["db_password"].Name, db.Secrets[0].SecretName)
	for _, s := range plan.Services {
		assert.NotContains(t, string(mustJSON(t, s.Spec)), "s3cret", "no value in a service spec")
	}

	// A changed value is a new secret (swarm secrets cannot change); the
	// same value keeps its name.
	_, again, err := loadWith(t, secretsCompose, map[string]string{"api.key": "key-1"}, env)
	require.NoError(t, err)
	assert.Equal(t, plan.Secrets, again.Secrets)
	_, changed, err := loadWith(t, secretsCompose, map[string]string{"api.key": "key-2"}, env)
	require.NoError(t, err)
	assert.NotEqual(t, plan.Secrets[0].Spec.Name, changed.Secrets[0].Spec.Name)
	assert.Equal(t, plan.Secrets[1].Spec.Name, changed.Secrets[1].Spec.Name)

	// A long project name still gives a name swarm accepts.
	o, _, err := loadWith(t, secretsCompose, map[string]string{"api.key": "k"}, env)
	require.NoError(t, err)
	o.Project = strings.Repeat("p", 70)
	proj, err := compose.Load(t.Context(), &o)
	require.NoError(t, err)
	long, err := stack.Convert(o, proj, stack.ConvertOptions{})
	require.NoError(t, err)
	for _, s := range long.Secrets {
		assert.LessOrEqual(t, len(s.Spec.Name), 64)
	}
}

func TestPinned(t *testing.T) {
	_, plan, err := load(t, appCompose)
	require.NoError(t, err)
	db, web := service(t, plan, "db"), service(t, plan, "web")
	assert.Equal(t, db, stack.Pinned(db), "no node recorded yet: swarm places it")

	db.Labels[stack.LabelNode] = "n1"
	pinned := stack.Pinned(db)
	assert.Equal(t, []string{"node.id==n1", "node.labels.ssd == true"}, pinned.TaskTemplate.Placement.Constraints,
		"pinned to the node with its data, the compose file's constraints kept")
	assert.Equal(t, []string{"node.labels.ssd == true"}, db.TaskTemplate.Placement.Constraints, "the input is not changed")
	db.Labels[stack.LabelNode] = "n2"
	db.TaskTemplate.Placement = pinned.TaskTemplate.Placement
	assert.Equal(t, []string{"node.id==n2", "node.labels.ssd == true"}, stack.Pinned(db).TaskTemplate.Placement.Constraints,
		"an earlier pin is replaced")

	web.Labels[stack.LabelNode] = "n1"
	assert.Nil(t, stack.Pinned(web).TaskTemplate.Placement, "a service without named volumes is left to swarm")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestConvertRefuses(t *testing.T) {
	tests := []struct {
		name, compose, want string
	}{
		{"privileged", "services:\n  web:\n    image: x\n    privileged: true\n", "privileged"},
		{"network mode", "services:\n  web:\n    image: x\n    network_mode: host\n", "network_mode"},
		{"global", "services:\n  web:\n    image: x\n    deploy: {mode: global}\n", "deploy mode global"},
		{"bad restart", "services:\n  web:\n    image: x\n    deploy: {restart_policy: {condition: sometimes}}\n", "restart_policy"},
		{"external secret", "services:\n  web:\n    image: x\n    secrets: [k]\nsecrets:\n  k: {external: true}\n", "external secrets"},
		{"secret outside the bundle", "services:\n  web:\n    image: x\n    secrets: [k]\nsecrets:\n  k: {file: /etc/passwd}\n", "outside the bundle"},
		{"secret file missing", "services:\n  web:\n    image: x\n    secrets: [k]\nsecrets:\n  k: {file: ./k.txt}\n", "read k.txt"},
		{"secret variable unset", "services:\n  web:\n    image: x\n    secrets: [k]\nsecrets:\n  k: {environment: NOPE_UNSET}\n", "NOPE_UNSET is not set"},
		{"configs", "services:\n  web:\n    image: x\n    configs: [c]\nconfigs:\n  c: {content: x}\n", "configs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := load(t, tt.compose)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

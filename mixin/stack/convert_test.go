package stack_test

import (
	"os"
	"path/filepath"
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
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(file), 0o644))
	o := compose.Options{Project: "stackhub-shop", Installation: "shop", WorkingDir: dir, Files: []string{"docker-compose.yml"},
		Main: "web", Ports: []compose.Port{{Name: "port", Service: "web", Target: 8080, Host: 9001}}}
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

func TestConvertRefuses(t *testing.T) {
	tests := []struct {
		name, compose, want string
	}{
		{"privileged", "services:\n  web:\n    image: x\n    privileged: true\n", "privileged"},
		{"network mode", "services:\n  web:\n    image: x\n    network_mode: host\n", "network_mode"},
		{"global", "services:\n  web:\n    image: x\n    deploy: {mode: global}\n", "deploy mode global"},
		{"bad restart", "services:\n  web:\n    image: x\n    deploy: {restart_policy: {condition: sometimes}}\n", "restart_policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := load(t, tt.compose)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

package cnab

import (
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/stretchr/testify/assert"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/contract"
)

func TestContainerOptions(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	tests := []struct {
		name         string
		op           engine.Operation
		wantMounts   int
		wantPriv     bool
		wantNetwork  container.NetworkMode
		wantInstance string
	}{
		{"plain", engine.Operation{Installation: "a", RunID: "r1"}, 0, false, "", "a"},
		{"host network", engine.Operation{Installation: "b", HostNetwork: true}, 0, false, "host", "b"},
		{"docker host", engine.Operation{Installation: "c", AllowDockerHost: true}, 1, false, "", "c"},
		{"privileged", engine.Operation{Installation: "d", AllowDockerHost: true, Privileged: true}, 1, true, "", "d"},
		{"privileged needs docker host", engine.Operation{Installation: "e", Privileged: true}, 0, false, "", "e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRuntime(sock)
			cfg, host := &container.Config{}, &container.HostConfig{}
			r.containerOptions(&tt.op)(cfg, host)
			assert.Len(t, host.Mounts, tt.wantMounts)
			assert.Equal(t, tt.wantPriv, host.Privileged)
			assert.Equal(t, tt.wantNetwork, host.NetworkMode)
			assert.Equal(t, tt.wantInstance, cfg.Labels[contract.LabelInstallation])
			assert.Equal(t, "true", cfg.Labels[contract.LabelInvocation])
		})
	}
}

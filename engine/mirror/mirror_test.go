package mirror_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/mirror"
)

func TestMirrorsRewrite(t *testing.T) {
	_, err := mirror.Parse("https://mirror.example.cn/, ghcr.io=127.0.0.1:5000/ghcr, registry-1.docker.io=x.example")
	require.Error(t, err, "docker.io named twice")
	require.ErrorIs(t, err, mirror.ErrInvalid)

	m, err := mirror.Parse("https://mirror.example.cn/, ghcr.io=127.0.0.1:5000/ghcr")
	require.NoError(t, err)
	assert.Equal(t, "mirror.example.cn,ghcr.io=127.0.0.1:5000/ghcr", m.String())
	tests := []struct {
		ref, want string
		ok        bool
	}{
		{"nginx", "mirror.example.cn/library/nginx", true},
		{"nginx:1.27", "mirror.example.cn/library/nginx:1.27", true},
		{"docker.io/library/redis:7", "mirror.example.cn/library/redis:7", true},
		{"index.docker.io/gitea/gitea:1.22", "mirror.example.cn/gitea/gitea:1.22", true},
		{"stackhub-test/hello:1", "mirror.example.cn/stackhub-test/hello:1", true},
		{"ghcr.io/owner/app@sha256:0123", "127.0.0.1:5000/ghcr/owner/app@sha256:0123", true},
		{"quay.io/prometheus/node-exporter:v1", "quay.io/prometheus/node-exporter:v1", false},
		{"localhost:5000/app:1", "localhost:5000/app:1", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, ok := m.Rewrite(tt.ref)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.ok, ok)
		})
	}

	none, err := mirror.Parse("")
	require.NoError(t, err)
	got, ok := none.Rewrite("nginx")
	assert.False(t, ok)
	assert.Equal(t, "nginx", got)
}

func TestParseMirrorsRejects(t *testing.T) {
	for _, bad := range []string{"ghcr.io=", "=mirror.example", "mirror example", "ftp://x/y://z", "user@mirror"} {
		t.Run(bad, func(t *testing.T) {
			_, err := mirror.Parse(bad)
			require.ErrorIs(t, err, mirror.ErrInvalid)
		})
	}
}

package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestComposeImages(t *testing.T) {
	tests := []struct {
		name, yml string
		want      []string
		bad       string
	}{
		{"plain", "services:\n  web: {image: nginx:1.27}\n  db: {image: 'postgres:16'}\n", []string{"postgres:16", "nginx:1.27"}, ""},
		{"defaults", "services:\n  web: {image: '${REG:-docker.io}/app:${TAG-1.0}'}\n", []string{"docker.io/app:1.0"}, ""},
		{"no image", "services:\n  web: {build: .}\n", nil, ""},
		{"escaped dollar", "services:\n  web: {image: 'a$$b:1'}\n", []string{"a$b:1"}, ""},
		{"no default", "services:\n  web: {image: 'app:${TAG}'}\n", nil, "${TAG}"},
		{"bare var", "services:\n  web: {image: '$IMAGE'}\n", nil, "$IMAGE"},
		{"not yaml", "services: [\n", nil, "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := composeImages([]byte(tt.yml))
			if tt.bad != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.bad)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := composeImages([]byte("services:\n  web: {image: 'app:${TAG}'}\n"))
	require.ErrorIs(t, err, engine.ErrInvalid)
}

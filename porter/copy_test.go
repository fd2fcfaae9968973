package porter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCopyDestination(t *testing.T) {
	tests := []struct {
		name, source, dest, want, wantErr string
	}{
		{"prefix", "localhost:5000/team/mydb:v0.1.0", "r.example/mirror", "r.example/mirror/mydb:v0.1.0", ""},
		{"prefix with slash", "localhost:5000/mydb:v0.1.0", "r.example/", "r.example/mydb:v0.1.0", ""},
		{"full reference", "localhost:5000/mydb:v0.1.0", "r.example/other:v9", "r.example/other:v9", ""},
		{"digest source, tagged destination", "localhost:5000/mydb@sha256:" + strings.Repeat("a", 64), "r.example/db:v1", "r.example/db:v1", ""},
		{"digest source, prefix", "localhost:5000/mydb@sha256:" + strings.Repeat("a", 64), "r.example", "", "the destination must name a tag"},
		{"digest destination", "localhost:5000/mydb:v1", "r.example/db@sha256:" + strings.Repeat("b", 64), "", "cannot copy to the digest reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := copyDestination(tt.source, tt.dest)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

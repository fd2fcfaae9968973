package engine

import (
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/engine/manifest"
)

func TestPickTag(t *testing.T) {
	tags := []string{"latest", "v0.9.0", "v1.0.0", "v1.0.3", "v1.1.0", "v1.2.0-rc.1", "v1.1.5", "v2.0.0", "sh-deadbeef"}
	v := func(s string) *semver.Version {
		x, err := semver.NewVersion(s)
		require.NoError(t, err)
		return x
	}
	r := func(s string) *semver.Constraints {
		c, err := semver.NewConstraint(s)
		require.NoError(t, err)
		return c
	}
	tests := []struct {
		name     string
		base     *semver.Version
		rng      *semver.Constraints
		strategy string
		want     string
	}{
		{"max-patch keeps major.minor", v("v1.0.0"), nil, StrategyMaxPatch, "v1.0.3"},
		{"max-minor keeps major", v("v1.0.0"), nil, StrategyMaxMinor, "v1.1.5"},
		{"max-minor without a tag", nil, nil, StrategyMaxMinor, "v2.0.0"},
		{"max-minor within a range", nil, r("<2.0.0"), StrategyMaxMinor, "v1.1.5"},
		{"min within a range", nil, r(">=1.0.1"), StrategyMin, "v1.0.3"},
		{"min of all", v("v1.1.0"), nil, StrategyMin, "v0.9.0"},
		{"prerelease when the range asks", nil, r(">=1.2.0-rc.0"), StrategyMaxMinor, "v2.0.0"},
		{"nothing fits", v("v3.0.0"), nil, StrategyMaxPatch, ""},
		{"range excludes all", nil, r(">5"), StrategyMin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pickTag(tags, tt.base, tt.rng, tt.strategy))
		})
	}
}

func TestSatisfiesInterface(t *testing.T) {
	parse := func(t *testing.T, src string) *manifest.Manifest {
		t.Helper()
		m, err := manifest.Parse([]byte(src), "porter.yaml")
		require.NoError(t, err)
		return m
	}
	const head = "schemaVersion: 1.1.0\nname: mysql\nversion: 0.1.0\nmixins: [exec]\ninstall: []\nupgrade: []\nuninstall: []\n"
	mysql := parse(t, head+`dependencies:
  provides:
    interface:
      id: getporter.org/interfaces/mysql
parameters:
  - name: database
    type: string
outputs:
  - name: connstr
    type: string
`)
	plain := parse(t, head)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte("outputs:\n  - name: connstr\nparameters:\n  database: {}\n"), &doc))
	var missing map[string]any
	require.NoError(t, yaml.Unmarshal([]byte("outputs:\n  - name: password\n"), &missing))
	tests := []struct {
		name    string
		m       *manifest.Manifest
		iface   manifest.DependencyInterface
		want    *manifest.Manifest
		wantErr string
	}{
		{"id matches", mysql, manifest.DependencyInterface{ID: "getporter.org/interfaces/mysql"}, nil, ""},
		{"id differs", mysql, manifest.DependencyInterface{ID: "getporter.org/interfaces/postgres"}, nil, `it provides "getporter.org/interfaces/mysql"`},
		{"no id declared", plain, manifest.DependencyInterface{ID: "getporter.org/interfaces/mysql"}, nil, "declares no dependencies.provides.interface.id"},
		{"document satisfied", mysql, manifest.DependencyInterface{Document: doc}, nil, ""},
		{"document not satisfied", mysql, manifest.DependencyInterface{Document: missing}, nil, "it has no output password"},
		{"referenced bundle satisfied", mysql, manifest.DependencyInterface{Reference: "r/x:v1"}, mysql, ""},
		{"referenced bundle not satisfied", plain, manifest.DependencyInterface{Reference: "r/x:v1"}, mysql, "it has no parameter database, output connstr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := satisfiesInterface(tt.m, &tt.iface, tt.want)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

package contract

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContextRoundTrip(t *testing.T) {
	in := Context{Ports: map[string]int{"port": 9001}, Prefix: "sh", PortMin: 9001, PortMax: 9999,
		WaitTimeout: "2m0s", HostNetwork: true, Purge: true}
	raw, err := in.Encode()
	require.NoError(t, err)
	out, err := ParseContext(raw)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

func TestParseContext(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    Context
		wantErr bool
	}{
		{"absent", "", Context{}, false},
		{"null", " null ", Context{}, false},
		{"purge", `{"purge":true}`, Context{Purge: true}, false},
		{"unknown fields are ignored", `{"prefix":"a","later":1}`, Context{Prefix: "a"}, false},
		{"not json", `{ports:`, Context{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContext(tt.raw)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), ContextEnv)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestOutcomeOf(t *testing.T) {
	assert.Equal(t, OutcomeSucceeded, OutcomeOf(0))
	assert.Equal(t, OutcomeFailed, OutcomeOf(1))
	assert.Equal(t, OutcomeFailed, OutcomeOf(2))
	assert.Equal(t, OutcomeUpgradeUndone, OutcomeOf(ExitUpgradeUndone))
	assert.Equal(t, "upgrade undone", OutcomeUpgradeUndone.String())
}

package engine_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestGateKeyIsKept(t *testing.T) {
	dir := t.TempDir()
	k1, err := engine.GateKey(dir)
	require.NoError(t, err)
	assert.Len(t, k1, 32)
	k2, err := engine.GateKey(dir)
	require.NoError(t, err)
	assert.Equal(t, k1, k2, "the same key after a restart: cookies stay valid")
	fi, err := os.Stat(filepath.Join(dir, "gate.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestGatePass(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	good := engine.SignGatePass(key, engine.GatePass{Kind: engine.GatePassCookie, User: "eve", Host: "wiki.lan", Expires: now.Add(time.Hour).Unix()})
	p, err := engine.VerifyGatePass(key, good, engine.GatePassCookie, "WIKI.lan", now)
	require.NoError(t, err)
	assert.Equal(t, "eve", p.User)

	tests := []struct {
		name, token, kind, host string
		key                     []byte
		at                      time.Time
	}{
		{"other key", good, engine.GatePassCookie, "wiki.lan", []byte("x"), now},
		{"no key", good, engine.GatePassCookie, "wiki.lan", nil, now},
		{"other kind", good, engine.GatePassTicket, "wiki.lan", key, now},
		{"other host", good, engine.GatePassCookie, "open.lan", key, now},
		{"expired", good, engine.GatePassCookie, "wiki.lan", key, now.Add(time.Hour)},
		{"no dot", "abc", engine.GatePassCookie, "wiki.lan", key, now},
		{"empty", "", engine.GatePassCookie, "wiki.lan", key, now},
		{"no user", engine.SignGatePass(key, engine.GatePass{Kind: engine.GatePassCookie, Host: "wiki.lan", Expires: now.Add(time.Hour).Unix()}), engine.GatePassCookie, "wiki.lan", key, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.VerifyGatePass(tt.key, tt.token, tt.kind, tt.host, tt.at)
			assert.ErrorIs(t, err, engine.ErrGatePass)
		})
	}
}

package signing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestSignVerify(t *testing.T) {
	var s Signer
	priv, pub, err := s.GenerateKey()
	require.NoError(t, err)
	_, otherPub, err := s.GenerateKey()
	require.NoError(t, err)
	payload := []byte(`{"repository":"127.0.0.1:5000/hello","digest":"sha256:aa"}`)

	sig, err := s.Sign(t.Context(), priv, payload)
	require.NoError(t, err)
	assert.Contains(t, string(sig), `"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"`)
	assert.Contains(t, string(sig), `"publicKey"`, "key-signed: no certificate, no log entry")
	require.NoError(t, s.Verify(t.Context(), pub, payload, sig))

	tests := []struct {
		name         string
		key, payload []byte
		sig          []byte
		kind         error
	}{
		{"another payload", pub, []byte(`{"repository":"127.0.0.1:5000/hello","digest":"sha256:bb"}`), sig, engine.ErrForbidden},
		{"another key", otherPub, payload, sig, engine.ErrForbidden},
		{"garbage signature", pub, payload, []byte(`{"mediaType":"nope"}`), engine.ErrForbidden},
		{"not a key", []byte("hello"), payload, sig, engine.ErrInvalid},
		{"private key as public", priv, payload, sig, engine.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(t.Context(), tt.key, tt.payload, tt.sig)
			require.ErrorIs(t, err, tt.kind)
		})
	}
	_, err = s.Sign(t.Context(), pub, payload)
	require.ErrorIs(t, err, engine.ErrInvalid, "a public key cannot sign")
}

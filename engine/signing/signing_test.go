package signing

import (
	"os"
	"strings"
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

// TestVerifyEarlierBundles checks that a bundle written by an earlier
// StackHub, made with the sigstore-go library, still verifies, and that
// changing any part of it breaks the verification.
func TestVerifyEarlierBundles(t *testing.T) {
	var s Signer
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/sigstore-go." + name)
		require.NoError(t, err)
		return b
	}
	pub, payload, sig := read("pub"), read("payload"), read("sigstore.json")
	require.NoError(t, s.Verify(t.Context(), pub, payload, sig))

	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"hint of another key", `"hint":"06`, `"hint":"07`, "names another key"},
		{"digest of another content", `"digest":"Vjqj`, `"digest":"Wjqj`, "digest mismatch"},
		{"signature changed", `"signature":"MEYCIQCW`, `"signature":"MEYCIQCX`, "not the key's"},
		{"unknown media type", `bundle.v0.3+json`, `bundle.v9+json`, "unknown media type"},
		{"certificate instead of a key", `"publicKey":{"hint":"06RZi8WNOQ9e7q406w5JrqYqx4WOPjKlGCIP2eTLHOM="}`, `"certificate":{"rawBytes":"AA=="}`, "signed through a certificate"},
		{"another digest algorithm", `"SHA2_256"`, `"SHA2_384"`, "SHA2_256 is read"},
		{"older media type", `application/vnd.dev.sigstore.bundle.v0.3+json`, `application/vnd.dev.sigstore.bundle+json;version=0.2`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := strings.Replace(string(sig), tt.old, tt.new, 1)
			require.NotEqual(t, string(sig), changed, "the test changes the bundle")
			err := s.Verify(t.Context(), pub, payload, []byte(changed))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, engine.ErrForbidden)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

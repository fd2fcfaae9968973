package service

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerDefaultLanguage checks Config.Lang: the /api/v1 default when a
// request states no preference; Accept-Language still wins.
func TestServerDefaultLanguage(t *testing.T) {
	tests := []struct {
		name, lang, accept string
		wantChinese        bool
	}{
		{"english by default", "", "", false},
		{"chinese server", "zh", "", true},
		{"the request wins", "zh", "en", false},
		{"english server, chinese request", "en", "zh-CN", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{DataDir: t.TempDir(), APIToken: testToken, Lang: tt.lang}, newFakeEngineForLang(), newMemUsers(), slog.New(slog.DiscardHandler))
			headers := map[string]string{}
			if tt.accept != "" {
				headers["Accept-Language"] = tt.accept
			}
			res := do(t, s, request{method: "GET", target: "/api/v1/installations/Bad%20Name", headers: headers})
			require.Equal(t, 400, res.status, string(res.body))
			var body struct{ Error string }
			require.NoError(t, json.Unmarshal(res.body, &body))
			assert.Equal(t, tt.wantChinese, hasHan(body.Error), body.Error)
		})
	}
}

func newFakeEngineForLang() Engine { return &fakeEngine{} }

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// TestTokenFrom: STACKHUB_TOKEN is the one name serve and the CLI read;
// STACKHUB_API_TOKEN still works when it is unset.
func TestTokenFrom(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "new name", env: map[string]string{"STACKHUB_TOKEN": "shk_a"}, want: "shk_a"},
		{name: "old name", env: map[string]string{"STACKHUB_API_TOKEN": "shk_b"}, want: "shk_b"},
		{name: "both: the new name wins", env: map[string]string{"STACKHUB_TOKEN": "shk_a", "STACKHUB_API_TOKEN": "shk_b"}, want: "shk_a"},
		{name: "neither", env: map[string]string{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, TokenFrom(func(k string) string { return tt.env[k] }))
		})
	}
}

package service

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine/accounts"
	"github.com/stackhub/stackhub/engine/sqlite"
	"github.com/stackhub/stackhub/service/apitype"
)

func TestConsoleFiles(t *testing.T) {
	s, _ := newTestServer(t, &fakeEngine{})
	for _, path := range []string{"/", "/setup?token=x"} {
		res := do(t, s, request{method: "GET", target: path, anonymous: true})
		require.Equal(t, 200, res.status, path)
		assert.Contains(t, res.headers.Get("Content-Type"), "text/html")
		assert.Contains(t, string(res.body), `<script type="module" src="/ui/js/main.js">`)
		csp := res.headers.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self'")
		assert.NotContains(t, csp, "unsafe-inline", "no inline script or style, anywhere")
		assert.Equal(t, "no-referrer", res.headers.Get("Referrer-Policy"), "the setup token stays out of Referer")
	}

	tests := []struct {
		name, path, encoding string
		status               int
		ctype, contentEnc    string
	}{
		{"module, compressed", "/ui/js/main.js", "gzip, br", 200, "text/javascript", "gzip"},
		{"module, plain", "/ui/js/api.js", "", 200, "text/javascript", ""},
		{"catalog", "/ui/i18n/zh.json", "gzip", 200, "application/json", "gzip"},
		{"style", "/ui/css/app.css", "gzip", 200, "text/css", "gzip"},
		{"no such file", "/ui/js/nope.js", "", 404, "", ""},
		{"index only at /", "/ui/index.html", "", 404, "", ""},
		{"no escape", "/ui/../service.go", "", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, request{method: "GET", target: tt.path, anonymous: true, headers: map[string]string{"Accept-Encoding": tt.encoding}})
			require.Equal(t, tt.status, res.status, "%s", res.body)
			if tt.status != 200 {
				return
			}
			assert.Contains(t, res.headers.Get("Content-Type"), tt.ctype)
			assert.Equal(t, tt.contentEnc, res.headers.Get("Content-Encoding"))
			assert.Equal(t, "no-cache", res.headers.Get("Cache-Control"))
			etag := res.headers.Get("ETag")
			require.NotEmpty(t, etag)
			again := do(t, s, request{method: "GET", target: tt.path, anonymous: true, headers: map[string]string{"If-None-Match": etag}})
			assert.Equal(t, 304, again.status, "an unchanged file is not sent again")
			assert.Empty(t, again.body)
		})
	}
}

// newStoreServer is a Server over a real SQLite store, with the admin and
// a viewer "eve" whose API token it returns.
func newStoreServer(t *testing.T, eng Engine) (*Server, map[string]string) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "stackhub.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	s := New(Config{DataDir: t.TempDir(), APIToken: testToken, AdminPassword: "s3cret-pw-long"}, eng, store, slog.New(slog.DiscardHandler))
	require.NoError(t, s.EnsureAdmin(t.Context()))
	require.NoError(t, store.CreateUserWithRole(t.Context(), "eve", "x", RoleViewer))
	require.NoError(t, store.CreateToken(t.Context(), hashSecret("shk_eve-token"), "eve", "eve"))
	return s, map[string]string{"Authorization": "Bearer shk_eve-token"}
}

func TestTokensListAndRevoke(t *testing.T) {
	s, eve := newStoreServer(t, okEngine())
	created := do(t, s, request{method: "POST", target: "/api/v1/tokens", body: `{"name":"ci"}`, ctype: "application/json"})
	require.Equal(t, 201, created.status, "%s", created.body)
	var tok tokenResponse
	require.NoError(t, json.Unmarshal(created.body, &tok))

	list := func(headers map[string]string) []accounts.Token {
		res := do(t, s, request{method: "GET", target: "/api/v1/tokens", headers: headers})
		require.Equal(t, 200, res.status, "%s", res.body)
		assert.NotContains(t, string(res.body), tok.Token, "a token is shown once, never listed")
		var body struct{ Tokens []accounts.Token }
		require.NoError(t, json.Unmarshal(res.body, &body))
		return body.Tokens
	}
	all := list(nil)
	require.Len(t, all, 2, "the admin sees every user's tokens")
	mine := list(eve)
	require.Len(t, mine, 1, "a viewer sees only its own")
	assert.Equal(t, "eve", mine[0].User)

	var ci accounts.Token
	for _, k := range all {
		if k.Name == "ci" {
			ci = k
		}
	}
	require.NotEmpty(t, ci.ID)
	res := do(t, s, request{method: "DELETE", target: "/api/v1/tokens/" + ci.ID, headers: eve})
	assert.Equal(t, 404, res.status, "eve cannot revoke the admin's token")
	res = do(t, s, request{method: "DELETE", target: "/api/v1/tokens/" + ci.ID})
	require.Equal(t, 200, res.status, "%s", res.body)
	res = do(t, s, request{method: "GET", target: "/api/v1/me", headers: map[string]string{"Authorization": "Bearer " + tok.Token}})
	assert.Equal(t, 401, res.status, "a revoked token no longer works")
	res = do(t, s, request{method: "DELETE", target: "/api/v1/tokens/" + ci.ID})
	assert.Equal(t, 404, res.status)
}

func TestLanguageKeptPerUser(t *testing.T) {
	s, eve := newStoreServer(t, okEngine())
	lang := func(headers map[string]string) string {
		res := do(t, s, request{method: "GET", target: "/api/v1/me", headers: headers})
		require.Equal(t, 200, res.status, "%s", res.body)
		var me apitype.Me
		require.NoError(t, json.Unmarshal(res.body, &me))
		return me.Language
	}
	assert.Empty(t, lang(eve), "no choice yet: follow the browser")

	res := do(t, s, request{method: "PUT", target: "/api/v1/settings", body: `{"defaultLanguage":"zh"}`, ctype: "application/json"})
	require.Equal(t, 200, res.status, "%s", res.body)
	assert.JSONEq(t, `{"registration":"closed","defaultLanguage":"zh","portMin":9001,"portMax":9999}`, string(res.body),
		"an absent field keeps its value; the port range is read-only")
	assert.Equal(t, "zh", lang(eve), "the default applies to users who chose none")

	res = do(t, s, request{method: "PUT", target: "/api/v1/me", body: `{"language":"en"}`, ctype: "application/json", headers: eve})
	require.Equal(t, 200, res.status, "%s", res.body)
	assert.Equal(t, "en", lang(eve))
	assert.Equal(t, "zh", lang(nil), "one user's choice is not another's")

	res = do(t, s, request{method: "PUT", target: "/api/v1/me", body: `{"language":"fr"}`, ctype: "application/json", headers: eve})
	assert.Equal(t, 400, res.status)
	assert.Contains(t, string(res.body), "zh or en")
}

func TestOutputsRevealOnRequest(t *testing.T) {
	s, eve := newStoreServer(t, okEngine())
	tests := []struct {
		name, target string
		headers      map[string]string
		status       int
		want         string
	}{
		{"masked by default", "/api/v1/installations/redmine/outputs", nil, 200,
			`{"outputs":[{"name":"port","type":"string","sensitive":false,"value":"9001"},{"name":"password","type":"string","sensitive":true,"value":""}]}`},
		{"revealed when asked", "/api/v1/installations/redmine/outputs?reveal=true", nil, 200,
			`{"outputs":[{"name":"port","type":"string","sensitive":false,"value":"9001"},{"name":"password","type":"string","sensitive":true,"value":"s3cret-value","revealed":true}]}`},
		{"viewers see no secrets", "/api/v1/installations/redmine/outputs?reveal=true", eve, 403, ""},
		{"viewers see the rest", "/api/v1/installations/redmine/outputs", eve, 200, ""},
		{"bad reveal", "/api/v1/installations/redmine/outputs?reveal=maybe", nil, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, request{method: "GET", target: tt.target, headers: tt.headers})
			require.Equal(t, tt.status, res.status, "%s", res.body)
			if tt.want != "" {
				assert.JSONEq(t, tt.want, string(res.body))
			}
			if !strings.Contains(tt.target, "reveal=true") || tt.status != 200 {
				assert.NotContains(t, string(res.body), "s3cret-value")
			}
		})
	}
}

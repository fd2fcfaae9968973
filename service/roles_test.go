package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/accounts"
)

// memAccounts adds roles, settings and an audit log to memUsers.
type memAccounts struct {
	*memUsers
	amu      sync.Mutex
	roles    map[string]string
	settings map[string]string
	log      []*accounts.AuditEntry
}

var (
	_ Accounts = (*memAccounts)(nil)
	_ Auditor  = (*memAccounts)(nil)
)

func (m *memAccounts) CreateUser(ctx context.Context, username, hash string) error {
	return m.CreateUserWithRole(ctx, username, hash, RoleAdmin)
}

func (m *memAccounts) CreateUserWithRole(ctx context.Context, username, hash, role string) error {
	if err := m.memUsers.CreateUser(ctx, username, hash); err != nil {
		return err
	}
	m.amu.Lock()
	defer m.amu.Unlock()
	m.roles[username] = role
	return nil
}

func (m *memAccounts) UserRole(_ context.Context, username string) (string, error) {
	m.amu.Lock()
	defer m.amu.Unlock()
	r, ok := m.roles[username]
	if !ok {
		return "", fmt.Errorf("user %q: %w", username, engine.ErrNotFound)
	}
	return r, nil
}

func (m *memAccounts) ListUsers(context.Context) ([]accounts.User, error) {
	m.amu.Lock()
	defer m.amu.Unlock()
	var out []accounts.User
	for u, r := range m.roles {
		out = append(out, accounts.User{Username: u, Role: r, Created: t0})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

func (m *memAccounts) SetRole(_ context.Context, username, role string) error {
	m.amu.Lock()
	defer m.amu.Unlock()
	if _, ok := m.roles[username]; !ok {
		return fmt.Errorf("user %q: %w", username, engine.ErrNotFound)
	}
	m.roles[username] = role
	return nil
}

func (m *memAccounts) DeleteUser(_ context.Context, username string) error {
	m.amu.Lock()
	defer m.amu.Unlock()
	if _, ok := m.roles[username]; !ok {
		return fmt.Errorf("user %q: %w", username, engine.ErrNotFound)
	}
	delete(m.roles, username)
	return nil
}

func (m *memAccounts) Setting(_ context.Context, key string) (string, error) {
	m.amu.Lock()
	defer m.amu.Unlock()
	v, ok := m.settings[key]
	if !ok {
		return "", fmt.Errorf("setting %q: %w", key, engine.ErrNotFound)
	}
	return v, nil
}

func (m *memAccounts) SetSetting(_ context.Context, key, value string) error {
	m.amu.Lock()
	defer m.amu.Unlock()
	m.settings[key] = value
	return nil
}

func (m *memAccounts) AppendAudit(_ context.Context, e *accounts.AuditEntry) error {
	m.amu.Lock()
	defer m.amu.Unlock()
	e.ID = int64(len(m.log) + 1)
	m.log = append(m.log, e)
	return nil
}

func (m *memAccounts) ListAudit(_ context.Context, limit int) ([]*accounts.AuditEntry, error) {
	m.amu.Lock()
	defer m.amu.Unlock()
	var out []*accounts.AuditEntry
	for i := len(m.log) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, m.log[i])
	}
	return out, nil
}

// tokenFor gives user an API token.
func tokenFor(t *testing.T, m *memAccounts, user string) map[string]string {
	t.Helper()
	tok := "shk_token-of-" + user
	require.NoError(t, m.CreateToken(t.Context(), hashSecret(tok), user, "t"))
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestRoles(t *testing.T) {
	users := &memAccounts{memUsers: newMemUsers(), roles: map[string]string{}, settings: map[string]string{}}
	s := New(Config{DataDir: t.TempDir(), APIToken: testToken, AdminPassword: "s3cret-pw-long"},
		okEngine(), users, slog.New(slog.DiscardHandler))
	s.now = func() time.Time { return t0 }
	require.NoError(t, s.EnsureAdmin(t.Context()))
	for _, u := range []struct{ name, role string }{{"ops", RoleOperator}, {"eve", RoleViewer}} {
		require.NoError(t, users.CreateUserWithRole(t.Context(), u.name, "x", u.role))
	}
	admin, ops, eve := tokenFor(t, users, "admin"), tokenFor(t, users, "ops"), tokenFor(t, users, "eve")
	jsonBody := func(v string) (string, string) { return v, "application/json" }

	tests := []struct {
		name    string
		as      map[string]string
		method  string
		target  string
		body    string
		want    int
		wantMsg string
	}{
		{"viewer reads", eve, "GET", "/api/v1/installations", "", 200, ""},
		{"viewer reads PRD", eve, "GET", "/getAllAppInfo", "", 200, ""},
		{"viewer cannot install", eve, "POST", "/api/v1/installations", `{"app":"redmine"}`, 403, "operator"},
		{"viewer cannot installApp", eve, "POST", "/installApp", `{"appName":"redmine"}`, 403, ""},
		{"viewer makes own token", eve, "POST", "/api/v1/tokens", `{"name":"mine"}`, 201, ""},
		{"viewer sees self", eve, "GET", "/api/v1/me", "", 200, "viewer"},
		{"operator installs", ops, "POST", "/api/v1/installations", `{"app":"redmine"}`, 202, ""},
		{"operator cannot install an archive", ops, "POST", "/api/v1/installations", `{"archive":"/etc/shadow"}`, 403, "only admins"},
		{"operator cannot install a reference", ops, "POST", "/api/v1/installations", `{"reference":"localhost:5000/hello:v1"}`, 403, "only admins"},
		{"operator cannot install an upload", ops, "POST", "/api/v1/installations", `{"upload":"0123456789abcdef0123456789abcdef"}`, 403, "only admins"},
		{"operator stops", ops, "POST", "/api/v1/installations/redmine/actions/stop", "", 202, ""},
		{"operator cannot list users", ops, "GET", "/api/v1/users", "", 403, "admin"},
		{"operator cannot add a catalog source", ops, "POST", "/api/v1/catalog/sources", `{"name":"x","path":"/etc"}`, 403, "admin"},
		{"operator cannot remove a catalog source", ops, "DELETE", "/api/v1/catalog/sources/x", "", 403, "admin"},
		{"admin lists users", admin, "GET", "/api/v1/users", "", 200, "eve"},
		{"admin creates user", admin, "POST", "/api/v1/users", `{"username":"bob","password":"long-enough-pw","role":"operator"}`, 201, ""},
		{"duplicate user", admin, "POST", "/api/v1/users", `{"username":"bob","password":"long-enough-pw"}`, 409, ""},
		{"weak password", admin, "POST", "/api/v1/users", `{"username":"carl","password":"short"}`, 400, "12 characters"},
		{"bad role", admin, "POST", "/api/v1/users", `{"username":"carl","password":"long-enough-pw","role":"root"}`, 400, "admin, operator or viewer"},
		{"promote", admin, "PATCH", "/api/v1/users/eve", `{"role":"operator"}`, 200, ""},
		{"cannot demote first admin", admin, "PATCH", "/api/v1/users/admin", `{"role":"viewer"}`, 409, ""},
		{"cannot delete self", admin, "DELETE", "/api/v1/users/admin", "", 409, ""},
		{"delete missing", admin, "DELETE", "/api/v1/users/nobody", "", 404, ""},
		{"register closed", nil, "POST", "/api/v1/register", `{"username":"zed","password":"long-enough-pw"}`, 403, "registration is closed"},
		{"open registration", admin, "PUT", "/api/v1/settings", `{"registration":"open"}`, 200, ""},
		{"bad setting", admin, "PUT", "/api/v1/settings", `{"registration":"maybe"}`, 400, ""},
		{"register open", nil, "POST", "/api/v1/register", `{"username":"zed","password":"long-enough-pw","role":"admin"}`, 201, `"role":"viewer"`},
		{"audit log", admin, "GET", "/api/v1/audit?limit=3", "", 200, "register"},
		{"audit needs admin", ops, "GET", "/api/v1/audit", "", 403, ""},
		{"profiles need admin", ops, "GET", "/debug/pprof/heap", "", 403, "admin"},
		{"no anonymous profiles", nil, "GET", "/debug/pprof/goroutine", "", 401, ""},
		{"admin reads a profile", admin, "GET", "/debug/pprof/goroutine?debug=1", "", 200, "goroutine profile: total"},
		{"unknown profile", admin, "GET", "/debug/pprof/nope", "", 404, "there is no profile named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request{method: tt.method, target: tt.target, headers: tt.as, anonymous: true}
			if tt.body != "" {
				r.body, r.ctype = jsonBody(tt.body)
			}
			res := do(t, s, r)
			assert.Equal(t, tt.want, res.status, "body: %s", res.body)
			if tt.wantMsg != "" {
				assert.Contains(t, string(res.body), tt.wantMsg)
			}
		})
	}

	// Who did what.
	var audit struct {
		Entries []accounts.AuditEntry `json:"entries"`
	}
	res := do(t, s, request{method: "GET", target: "/api/v1/audit", headers: admin, anonymous: true})
	require.NoError(t, json.Unmarshal(res.body, &audit))
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.User+" "+e.Action+" "+e.Target)
	}
	assert.Equal(t, []string{
		"zed register zed (viewer)",
		"admin set registration open",
		"admin set role eve (operator)",
		"admin create user bob (operator)",
		"ops stop redmine",
		"ops install redmine",
	}, got)
	assert.Equal(t, http.StatusOK, res.status)
}

func TestHeapProfileWithoutSamples(t *testing.T) {
	users := &memAccounts{memUsers: newMemUsers(), roles: map[string]string{}, settings: map[string]string{}}
	s := New(Config{DataDir: t.TempDir(), APIToken: testToken, AdminPassword: "s3cret-pw-long"},
		okEngine(), users, slog.New(slog.DiscardHandler))
	require.NoError(t, s.EnsureAdmin(t.Context()))
	admin := tokenFor(t, users, "admin")
	rate := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })
	for _, tt := range []struct {
		rate   int
		target string
		want   int
		body   string
	}{
		{0, "/debug/pprof/heap", 503, "GODEBUG=memprofilerate=524288"},
		{0, "/debug/pprof/allocs", 503, "the allocs profile is empty"},
		{0, "/debug/pprof/goroutine?debug=1", 200, "goroutine profile: total"},
		{512 * 1024, "/debug/pprof/heap?debug=1", 200, "heap profile"},
	} {
		runtime.MemProfileRate = tt.rate
		res := do(t, s, request{method: "GET", target: tt.target, headers: admin, anonymous: true})
		assert.Equal(t, tt.want, res.status, "%s: %s", tt.target, res.body)
		assert.Contains(t, string(res.body), tt.body, tt.target)
	}
}

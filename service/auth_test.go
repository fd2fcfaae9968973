package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

// okEngine answers every call with a plausible result.
func okEngine() *fakeEngine {
	return &fakeEngine{
		InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
			return redmine(engine.StatusInstalling, ""), nil
		},
		UninstallFunc:    func(context.Context, engine.UninstallOptions) error { return nil },
		UninstallAllFunc: func(context.Context) ([]engine.UninstallOutcome, error) { return nil, nil },
		GetFunc: func(context.Context, string) (*engine.Installation, error) {
			return redmine(engine.StatusRunning, ""), nil
		},
		ListFunc:   func(context.Context) ([]*engine.Installation, error) { return nil, nil },
		ServerFunc: func(context.Context) (*engine.ServerStatus, error) { return serverStatus(), nil },
		AppsFunc:   func(context.Context) ([]engine.App, error) { return nil, nil },
		JobFunc: func(_ context.Context, id string) (*engine.Job, error) {
			return &engine.Job{ID: id, Status: engine.JobRunning, Created: t0}, nil
		},
		UpgradeFunc: func(context.Context, engine.UpgradeOptions) (*engine.Installation, error) {
			return redmine(engine.StatusUpgrading, ""), nil
		},
		ActionFunc: func(_ context.Context, o engine.ActionOptions) (*engine.Job, error) {
			return &engine.Job{ID: "01HZX0JOB", Installation: o.Name, Action: o.Action, Status: engine.JobQueued, Created: t0}, nil
		},
		UninstallJobFunc: func(_ context.Context, o engine.UninstallOptions) (*engine.Job, error) {
			return &engine.Job{ID: "01HZX0JOB", Installation: o.Name, Action: "uninstall", Status: engine.JobQueued, Created: t0}, nil
		},
		LogsFunc: func(context.Context, engine.LogsOptions) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("hello\n")), nil
		},
		JobsFunc: func(context.Context, int) ([]*engine.Job, error) { return nil, nil },
		JobEventsFunc: func(context.Context, string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
			return nil, nil, func() {}, nil
		},
		UnmanagedFunc: func(context.Context) ([]string, error) { return nil, nil },
	}
}

// concrete fills a route pattern's parameters.
func concrete(path string) string {
	path = strings.ReplaceAll(path, ":name", "redmine")
	path = strings.ReplaceAll(path, ":action", "start")
	path = strings.ReplaceAll(path, ":user", "someone")
	return strings.ReplaceAll(path, ":id", "01HZX0JOB")
}

// TestEveryRouteNeedsAuth walks the route table: every route but login and
// health answers 401 without credentials, or with bad ones, and the
// engine is never reached.
func TestEveryRouteNeedsAuth(t *testing.T) {
	eng := okEngine()
	s, _ := newTestServer(t, eng)
	var public []string
	creds := map[string]map[string]string{
		"none":         nil,
		"wrong token":  {"Authorization": "Bearer shk_wrong"},
		"basic":        {"Authorization": "Basic YWRtaW46czNjcmV0LXB3"},
		"empty bearer": {"Authorization": "Bearer "},
		"bad cookie":   {"Cookie": sessionCookie + "=forged"},
	}
	for _, r := range s.routes() {
		if r.public {
			public = append(public, r.method+" "+r.path)
			continue
		}
		for credName, headers := range creds {
			t.Run(r.method+" "+r.path+"/"+credName, func(t *testing.T) {
				res := do(t, s, request{method: r.method, target: concrete(r.path), headers: headers, anonymous: true})
				assert.Equal(t, http.StatusUnauthorized, res.status, "body: %s", res.body)
				assert.Equal(t, `Bearer realm="stackhub"`, res.headers.Get("WWW-Authenticate"))
				if isPRD(r.path) {
					code, msg, _ := envelopeOf(t, res.body)
					assert.Equal(t, "0", code)
					assert.Contains(t, msg, "未登录")
				} else {
					var body errorBody
					require.NoError(t, json.Unmarshal(res.body, &body))
					assert.NotEmpty(t, body.Error)
					assert.Contains(t, body.Hint, "/api/v1/login")
				}
			})
		}
	}
	// Registration is public by nature; it answers 403 unless an admin
	// opened it (TestRoles). Setup answers only to the one-time token
	// (TestSetupLink).
	// The web console's files hold no data (TestConsoleFiles).
	assert.ElementsMatch(t, []string{"GET /health", "POST /api/v1/login", "POST /api/v1/register", "GET /setup", "POST /api/v1/setup",
		"GET /", "GET /ui/*"}, public)
	assert.Zero(t, eng.Calls())
}

func TestHealth(t *testing.T) {
	s, _ := newTestServer(t, &fakeEngine{})
	res := do(t, s, request{method: http.MethodGet, target: "/health", anonymous: true})
	assert.Equal(t, http.StatusOK, res.status)
	assert.JSONEq(t, `{"status":"ok"}`, string(res.body))
	assert.Equal(t, "req-test", res.headers.Get("X-Request-ID"))
}

// login logs in as admin and returns the session cookie and CSRF token.
func login(t *testing.T, s *Server) (cookie, csrf string) {
	t.Helper()
	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/login", anonymous: true,
		body: `{"username":"admin","password":"s3cret-pw"}`, ctype: "application/json"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var out loginResponse
	require.NoError(t, json.Unmarshal(res.body, &out))
	for _, c := range res.cookies {
		if c.Name == sessionCookie {
			return c.Value, out.CSRFToken
		}
	}
	t.Fatal("no session cookie")
	return "", ""
}

func TestAuthTable(t *testing.T) {
	s, users := newTestServer(t, okEngine())
	require.NoError(t, s.EnsureAdmin(t.Context()))
	cookie, csrf := login(t, s)
	stored := "shk_stored-token-for-tests"
	require.NoError(t, users.CreateToken(t.Context(), hashSecret(stored), "admin", "ci"))

	withCookie := func(extra map[string]string) map[string]string {
		h := map[string]string{"Cookie": sessionCookie + "=" + cookie}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name       string
		method     string
		target     string
		headers    map[string]string
		wantStatus int
	}{
		{"no credentials", http.MethodGet, "/getAllAppInfo", nil, http.StatusUnauthorized},
		{"bootstrap token", http.MethodGet, "/getAllAppInfo", map[string]string{"Authorization": "Bearer " + testToken}, http.StatusOK},
		{"bearer scheme is case-insensitive", http.MethodGet, "/getAllAppInfo", map[string]string{"Authorization": "bearer " + testToken}, http.StatusOK},
		{"stored token", http.MethodGet, "/api/v1/installations", map[string]string{"Authorization": "Bearer " + stored}, http.StatusOK},
		{"stored token mutates without CSRF", http.MethodPost, "/installApp?appName=redmine", map[string]string{"Authorization": "Bearer " + stored}, http.StatusAccepted},
		{"wrong token", http.MethodGet, "/getAllAppInfo", map[string]string{"Authorization": "Bearer shk_nope"}, http.StatusUnauthorized},
		{"basic scheme", http.MethodGet, "/getAllAppInfo", map[string]string{"Authorization": "Basic " + testToken}, http.StatusUnauthorized},
		{"cookie reads", http.MethodGet, "/getAllAppInfo", withCookie(nil), http.StatusOK},
		{"cookie reads REST", http.MethodGet, "/api/v1/server", withCookie(nil), http.StatusOK},
		{"cookie POST without CSRF", http.MethodPost, "/installApp?appName=redmine", withCookie(nil), http.StatusForbidden},
		{"cookie POST wrong CSRF", http.MethodPost, "/installApp?appName=redmine", withCookie(map[string]string{"X-CSRF-Token": "nope"}), http.StatusForbidden},
		{"cookie POST with CSRF", http.MethodPost, "/installApp?appName=redmine", withCookie(map[string]string{"X-CSRF-Token": csrf}), http.StatusAccepted},
		{"cookie GET that mutates needs CSRF", http.MethodGet, "/uninstallApp?appName=redmine", withCookie(nil), http.StatusForbidden},
		{"cookie GET that mutates with CSRF", http.MethodGet, "/uninstallApp?appName=redmine", withCookie(map[string]string{"X-CSRF-Token": csrf}), http.StatusOK},
		{"cookie DELETE without CSRF", http.MethodDelete, "/api/v1/installations/redmine", withCookie(nil), http.StatusForbidden},
		{"forged cookie", http.MethodGet, "/getAllAppInfo", map[string]string{"Cookie": sessionCookie + "=forged"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, request{method: tt.method, target: tt.target, headers: tt.headers, anonymous: true})
			assert.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
		})
	}

	t.Run("expired session", func(t *testing.T) {
		s.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		t.Cleanup(func() { s.now = time.Now })
		res := do(t, s, request{method: http.MethodGet, target: "/getAllAppInfo", headers: withCookie(nil), anonymous: true})
		assert.Equal(t, http.StatusUnauthorized, res.status)
	})
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		ctype      string
		wantStatus int
		wantErr    string
	}{
		{"json", `{"username":"admin","password":"s3cret-pw"}`, "application/json", http.StatusOK, ""},
		{"form", "username=admin&password=s3cret-pw", "application/x-www-form-urlencoded", http.StatusOK, ""},
		{"wrong password", `{"username":"admin","password":"nope"}`, "application/json", http.StatusUnauthorized, "wrong username or password"},
		{"unknown user", `{"username":"root","password":"s3cret-pw"}`, "application/json", http.StatusUnauthorized, "wrong username or password"},
		{"missing password", `{"username":"admin"}`, "application/json", http.StatusBadRequest, "username and password are required"},
		{"malformed", `{"username":`, "application/json", http.StatusBadRequest, "not valid JSON"},
		{"password in query only", "", "", http.StatusBadRequest, "username and password are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, users := newTestServer(t, &fakeEngine{})
			require.NoError(t, s.EnsureAdmin(t.Context()))
			target := "/api/v1/login"
			if tt.body == "" {
				target += "?username=admin&password=s3cret-pw"
			}
			res := do(t, s, request{method: http.MethodPost, target: target, body: tt.body, ctype: tt.ctype, anonymous: true})
			require.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			if tt.wantErr != "" {
				var body errorBody
				require.NoError(t, json.Unmarshal(res.body, &body))
				assert.Contains(t, body.Error, tt.wantErr)
				assert.NotEmpty(t, body.Hint)
				return
			}
			var out loginResponse
			require.NoError(t, json.Unmarshal(res.body, &out))
			assert.Equal(t, "admin", out.Username)
			assert.Len(t, out.CSRFToken, 43, "32 random bytes, base64url")
			require.Len(t, res.cookies, 1)
			c := res.cookies[0]
			assert.Equal(t, sessionCookie, c.Name)
			assert.Len(t, c.Value, 43, "32 random bytes, base64url")
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
			assert.Equal(t, "/", c.Path)
			users.mu.Lock()
			defer users.mu.Unlock()
			_, plain := users.sessions[c.Value]
			assert.False(t, plain, "the session id is stored hashed")
			sess, hashed := users.sessions[hashSecret(c.Value)]
			assert.True(t, hashed)
			assert.Equal(t, hashSecret(out.CSRFToken), sess.csrf, "the CSRF token is stored hashed")
		})
	}
}

// TestLoginThrottle: wrong passwords slow the address they come from,
// with growing waits; the owner logging in from an address that has not
// failed is never refused.
func TestLoginThrottle(t *testing.T) {
	s, _ := newTestServer(t, okEngine())
	require.NoError(t, s.EnsureAdmin(t.Context()))
	now := time.Now()
	s.now = func() time.Time { return now }
	s.clientIP = func(c *fiber.Ctx) string { return c.Get("X-Test-IP") }
	attempt := func(ip, user, pw string) response {
		return do(t, s, request{method: http.MethodPost, target: "/api/v1/login", anonymous: true,
			headers: map[string]string{"X-Test-IP": ip},
			body:    `{"username":"` + user + `","password":"` + pw + `"}`, ctype: "application/json"})
	}
	const stranger, owner = "203.0.113.7", "198.51.100.2"
	for i := range 5 {
		res := attempt(stranger, "admin", "wrong")
		require.Equal(t, http.StatusUnauthorized, res.status, "attempt %d", i+1)
	}
	res := attempt(stranger, "admin", "s3cret-pw")
	assert.Equal(t, http.StatusTooManyRequests, res.status, "the failing address waits, even with the right password")
	assert.Equal(t, "1", res.headers.Get("Retry-After"))
	var body errorBody
	require.NoError(t, json.Unmarshal(res.body, &body))
	assert.Equal(t, "too many failed logins from this address", body.Error)
	assert.Equal(t, "try again in 1s", body.Hint)

	res = attempt(owner, "admin", "s3cret-pw")
	assert.Equal(t, http.StatusOK, res.status, "the owner from another address is not locked out")

	// Each further failure doubles the wait.
	waits := []string{}
	for range 4 {
		now = now.Add(time.Hour)
		require.Equal(t, http.StatusUnauthorized, attempt(stranger, "admin", "wrong").status)
		waits = append(waits, attempt(stranger, "admin", "wrong").headers.Get("Retry-After"))
	}
	assert.Equal(t, []string{"2", "4", "8", "16"}, waits)

	// An address that sprays many users waits too, for every user.
	for i := range 20 {
		now = now.Add(time.Minute)
		require.Equal(t, http.StatusUnauthorized, attempt("192.0.2.9", fmt.Sprintf("user%d", i), "x").status)
	}
	assert.Equal(t, http.StatusTooManyRequests, attempt("192.0.2.9", "admin", "s3cret-pw").status)
	assert.Equal(t, http.StatusOK, attempt(owner, "admin", "s3cret-pw").status)

	// After the wait, the right password works from the failing address.
	now = now.Add(time.Hour)
	assert.Equal(t, http.StatusOK, attempt(stranger, "admin", "s3cret-pw").status)
}

func TestLogoutAndTokens(t *testing.T) {
	s, users := newTestServer(t, okEngine())
	require.NoError(t, s.EnsureAdmin(t.Context()))
	cookie, csrf := login(t, s)
	headers := map[string]string{"Cookie": sessionCookie + "=" + cookie, "X-CSRF-Token": csrf}

	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/tokens", headers: headers, anonymous: true,
		body: `{"name":"ci"}`, ctype: "application/json"})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	var tok tokenResponse
	require.NoError(t, json.Unmarshal(res.body, &tok))
	assert.True(t, strings.HasPrefix(tok.Token, "shk_"))
	assert.Equal(t, "ci", tok.Name)
	assert.Equal(t, "admin", tok.User)
	users.mu.Lock()
	assert.Equal(t, "admin", users.tokens[hashSecret(tok.Token)], "stored by hash")
	_, plain := users.tokens[tok.Token]
	users.mu.Unlock()
	assert.False(t, plain)

	res = do(t, s, request{method: http.MethodGet, target: "/getAllAppInfo", anonymous: true,
		headers: map[string]string{"Authorization": "Bearer " + tok.Token}})
	assert.Equal(t, http.StatusOK, res.status)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/tokens", body: `{"name":"bad name!"}`, ctype: "application/json"})
	assert.Equal(t, http.StatusBadRequest, res.status)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/logout", headers: headers, anonymous: true})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.Len(t, res.cookies, 1)
	assert.Empty(t, res.cookies[0].Value, "the cookie is cleared")

	res = do(t, s, request{method: http.MethodGet, target: "/getAllAppInfo", anonymous: true,
		headers: map[string]string{"Cookie": sessionCookie + "=" + cookie}})
	assert.Equal(t, http.StatusUnauthorized, res.status, "the session is gone")
}

func TestEnsureAdmin(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		existing  bool
		wantSetup bool
	}{
		{name: "password from env", password: "from-env-pw"},
		{name: "no password offers a setup link", wantSetup: true},
		{name: "admin exists", existing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			users := newMemUsers()
			if tt.existing {
				require.NoError(t, users.CreateUser(t.Context(), "admin", "$argon2id$existing"))
			}
			s := New(Config{DataDir: t.TempDir(), AdminPassword: tt.password}, &fakeEngine{}, users, slog.New(slog.NewTextHandler(&logs, nil)))
			require.NoError(t, s.EnsureAdmin(t.Context()))
			assert.Equal(t, tt.wantSetup, s.needSetup)
			hash, err := users.PasswordHash(t.Context(), "admin")
			switch {
			case tt.wantSetup:
				require.ErrorIs(t, err, engine.ErrNotFound, "no admin with an invented password")
			case tt.existing:
				require.NoError(t, err)
				assert.Equal(t, "$argon2id$existing", hash)
			default:
				require.NoError(t, err)
				ok, err := VerifyPassword(hash, tt.password)
				require.NoError(t, err)
				assert.True(t, ok)
				assert.NotContains(t, logs.String(), tt.password, "the password is never logged")
			}
		})
	}
}

func TestSetupLink(t *testing.T) {
	users := newMemUsers()
	s := New(Config{DataDir: t.TempDir(), APIToken: testToken}, &fakeEngine{}, users, slog.New(slog.DiscardHandler))
	require.NoError(t, s.EnsureAdmin(t.Context()))
	token := s.offerSetup()

	page := do(t, s, request{method: "GET", target: "/setup?token=" + token, anonymous: true})
	require.Equal(t, 200, page.status)
	assert.Contains(t, string(page.body), "/ui/js/main.js", "the setup link opens the console")

	tests := []struct {
		name, body string
		status     int
	}{
		{"wrong token", `{"token":"nope","password":"long-enough-pw"}`, 403},
		{"short password", `{"token":"` + token + `","password":"short"}`, 400},
		{"the link works", `{"token":"` + token + `","password":"long-enough-pw"}`, 200},
		{"only once", `{"token":"` + token + `","password":"another-long-pw"}`, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, request{method: "POST", target: "/api/v1/setup", body: tt.body, ctype: "application/json", anonymous: true})
			assert.Equal(t, tt.status, res.status, string(res.body))
		})
	}
	hash, err := users.PasswordHash(t.Context(), "admin")
	require.NoError(t, err)
	ok, err := VerifyPassword(hash, "long-enough-pw")
	require.NoError(t, err)
	assert.True(t, ok)

	// An expired link is refused.
	s2 := New(Config{DataDir: t.TempDir()}, &fakeEngine{}, newMemUsers(), slog.New(slog.DiscardHandler))
	tok2 := s2.offerSetup()
	s2.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	res := do(t, s2, request{method: "POST", target: "/api/v1/setup", body: `{"token":"` + tok2 + `","password":"long-enough-pw"}`, ctype: "application/json", anonymous: true})
	assert.Equal(t, 403, res.status, string(res.body))
}

func TestBootstrapTokenTooShort(t *testing.T) {
	s := New(Config{APIToken: "short"}, okEngine(), newMemUsers(), nil)
	res := do(t, s, request{method: http.MethodGet, target: "/getAllAppInfo", anonymous: true,
		headers: map[string]string{"Authorization": "Bearer short"}})
	assert.Equal(t, http.StatusUnauthorized, res.status)
}

func TestPasswordHash(t *testing.T) {
	hash, err := HashPassword("correct horse")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"))
	other, err := HashPassword("correct horse")
	require.NoError(t, err)
	assert.NotEqual(t, hash, other, "salted")

	tests := []struct {
		name    string
		hash    string
		pw      string
		want    bool
		wantErr bool
	}{
		{"right", hash, "correct horse", true, false},
		{"wrong", hash, "correct horse ", false, false},
		{"empty", hash, "", false, false},
		{"not argon2id", "$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
		{"garbage", "plain", "x", false, true},
		{"huge memory", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "x", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.hash, tt.pw)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ok)
		})
	}
}

package service

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/servicetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testToken is the bootstrap API token of test servers.
const testToken = "test-token-0123456789abcdef"

// fakeEngine is the service's Engine in tests: the shared fake
// (servicetest), whose calls a test scripts with its XxxFunc fields; the
// others fail as unexpected and are counted.
type fakeEngine = servicetest.Engine

var _ Engine = (*fakeEngine)(nil)

var errUnexpected = servicetest.ErrUnexpected

// memUsers is an in-memory Users.
type memUsers struct {
	mu       sync.Mutex
	users    map[string]string // username -> hash
	sessions map[string]memSession
	tokens   map[string]string // hash -> username
}

type memSession struct {
	user, csrf string
	expires    time.Time
}

var _ Users = (*memUsers)(nil)

func newMemUsers() *memUsers {
	return &memUsers{users: map[string]string{}, sessions: map[string]memSession{}, tokens: map[string]string{}}
}

func (m *memUsers) CreateUser(_ context.Context, username, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[username]; ok {
		return fmt.Errorf("create user: %w", engine.ErrConflict)
	}
	m.users[username] = hash
	return nil
}

func (m *memUsers) PasswordHash(_ context.Context, username string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.users[username]
	if !ok {
		return "", fmt.Errorf("get user: %w", engine.ErrNotFound)
	}
	return h, nil
}

func (m *memUsers) CreateSession(_ context.Context, idHash, username, csrfHash string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[idHash] = memSession{user: username, csrf: csrfHash, expires: expires}
	return nil
}

func (m *memUsers) SessionUser(_ context.Context, idHash string, now time.Time) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[idHash]
	if !ok || !now.Before(s.expires) {
		return "", "", fmt.Errorf("get session: %w", engine.ErrNotFound)
	}
	return s.user, s.csrf, nil
}

func (m *memUsers) DeleteSession(_ context.Context, idHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, idHash)
	return nil
}

func (m *memUsers) CreateToken(_ context.Context, tokenHash, username, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[tokenHash] = username
	return nil
}

func (m *memUsers) TokenUser(_ context.Context, tokenHash string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.tokens[tokenHash]
	if !ok {
		return "", fmt.Errorf("get token: %w", engine.ErrNotFound)
	}
	return u, nil
}

// newTestServer builds a Server over eng and fresh in-memory users, with
// the bootstrap token testToken. Tests that log in call EnsureAdmin, which
// creates the admin with the password "s3cret-pw" (hashing is slow).
func newTestServer(t *testing.T, eng Engine) (*Server, *memUsers) {
	t.Helper()
	users := newMemUsers()
	s := New(Config{DataDir: t.TempDir(), APIToken: testToken, AdminPassword: "s3cret-pw", BodyLimit: 4096},
		eng, users, slog.New(slog.DiscardHandler))
	return s, users
}

// request describes one test request.
type request struct {
	method  string
	target  string
	body    string
	ctype   string
	headers map[string]string
	// anonymous sends no credentials; otherwise the bootstrap token goes.
	anonymous bool
}

type response struct {
	status  int
	body    []byte
	headers http.Header
	cookies []*http.Cookie
}

func do(t *testing.T, s *Server, r request) response {
	t.Helper()
	var body io.Reader = http.NoBody
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequestWithContext(t.Context(), r.method, r.target, body)
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if !r.anonymous {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	// A fixed request id keeps 500 messages stable in the goldens.
	req.Header.Set("X-Request-ID", "req-test")
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	res, err := s.App().Test(req, -1)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{status: res.StatusCode, body: b, headers: res.Header, cookies: res.Cookies()}
}

// encodings returns the three ways the product document's endpoints take
// input: GET with a query, POST with JSON, POST with a form.
func encodings(path string, params map[string]string) map[string]request {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	target := path
	if len(params) > 0 {
		target += "?" + q.Encode()
	}
	js, _ := json.Marshal(params)
	if len(params) == 0 {
		js = nil
	}
	return map[string]request{
		"GET":       {method: http.MethodGet, target: target},
		"POST JSON": {method: http.MethodPost, target: path, body: string(js), ctype: "application/json"},
		"POST form": {method: http.MethodPost, target: path, body: q.Encode(), ctype: "application/x-www-form-urlencoded"},
	}
}

// golden compares body with testdata/<name>.json, rewriting it with -update.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, body, "", "  "), "body: %s", body)
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.JSONEq(t, string(want), string(body))
}

// envelopeOf decodes a product-document response.
func envelopeOf(t *testing.T, body []byte) (code, message string, data map[string]any) {
	t.Helper()
	var e struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &e), "body: %s", body)
	require.NotNil(t, e.Data, "data is always an object: %s", body)
	return e.Code, e.Message, e.Data
}

// Fixtures.

var (
	t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

func redmine(status engine.Status, reason string) *engine.Installation {
	inst := &engine.Installation{
		ID: "01HZX0REDMINE", Name: "redmine", App: "redmine", BundleVersion: "5.1.0", Status: status,
		Reason: reason, ContainerName: "stackhub-redmine", Ports: map[string]int{"port": 9001, "db_port": 9002},
		Parameters: map[string]string{"admin_password": "never-shown"}, JobID: "01HZX0JOB", Created: t0, Modified: t1,
	}
	if status == engine.StatusRunning {
		inst.Installed = &t1
	}
	return inst
}

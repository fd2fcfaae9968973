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
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testToken is the bootstrap API token of test servers.
const testToken = "test-token-0123456789abcdef"

// fakeEngine is a Server's Engine in tests: each method calls its field, or
// fails the call (and counts it) when the field is nil.
type fakeEngine struct {
	InstallFunc      func(ctx context.Context, opts engine.InstallOptions) (*engine.Installation, error)
	UninstallFunc    func(ctx context.Context, opts engine.UninstallOptions) error
	UninstallAllFunc func(ctx context.Context) ([]engine.UninstallOutcome, error)
	GetFunc          func(ctx context.Context, name string) (*engine.Installation, error)
	ListFunc         func(ctx context.Context) ([]*engine.Installation, error)
	ServerFunc       func(ctx context.Context) (*engine.ServerStatus, error)
	AppsFunc         func(ctx context.Context) ([]engine.App, error)
	SearchAppsFunc   func(ctx context.Context, q catalog.Query) (*catalog.Result, error)
	AppDetailFunc    func(ctx context.Context, name, source string) (*engine.AppDetail, error)
	AppIconFunc      func(ctx context.Context, name string) (*engine.AppIcon, error)
	PreflightFunc    func(ctx context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error)
	SourcesFunc      func(ctx context.Context) ([]engine.CatalogSource, error)
	AddSourceFunc    func(ctx context.Context, name, path string) (*engine.CatalogSource, error)
	RemoveSourceFunc func(ctx context.Context, name string) error
	JobFunc          func(ctx context.Context, id string) (*engine.Job, error)
	UpgradeFunc      func(ctx context.Context, opts engine.UpgradeOptions) (*engine.Installation, error)
	ActionFunc       func(ctx context.Context, opts engine.ActionOptions) (*engine.Job, error)
	UninstallJobFunc func(ctx context.Context, opts engine.UninstallOptions) (*engine.Job, error)
	LogsFunc         func(ctx context.Context, opts engine.LogsOptions) (io.ReadCloser, error)
	JobsFunc         func(ctx context.Context, limit int) ([]*engine.Job, error)
	JobEventsFunc    func(ctx context.Context, id string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error)
	UnmanagedFunc    func(ctx context.Context) ([]string, error)
	// PorterDocumentFunc nil builds the document from inst alone, as the
	// engine does for an installation without runs.
	PorterDocumentFunc func(ctx context.Context, inst *engine.Installation, opts engine.PorterDocOptions) (*engine.PorterInstallation, error)

	calls atomic.Int32
}

var _ Engine = (*fakeEngine)(nil)

var errUnexpected = fmt.Errorf("unexpected engine call")

func (f *fakeEngine) Install(ctx context.Context, opts engine.InstallOptions) (*engine.Installation, error) {
	f.calls.Add(1)
	if f.InstallFunc == nil {
		return nil, errUnexpected
	}
	return f.InstallFunc(ctx, opts)
}

func (f *fakeEngine) Uninstall(ctx context.Context, opts engine.UninstallOptions) error {
	f.calls.Add(1)
	if f.UninstallFunc == nil {
		return errUnexpected
	}
	return f.UninstallFunc(ctx, opts)
}

func (f *fakeEngine) UninstallAll(ctx context.Context) ([]engine.UninstallOutcome, error) {
	f.calls.Add(1)
	if f.UninstallAllFunc == nil {
		return nil, errUnexpected
	}
	return f.UninstallAllFunc(ctx)
}

func (f *fakeEngine) Get(ctx context.Context, name string) (*engine.Installation, error) {
	f.calls.Add(1)
	if f.GetFunc == nil {
		return nil, errUnexpected
	}
	return f.GetFunc(ctx, name)
}

func (f *fakeEngine) List(ctx context.Context) ([]*engine.Installation, error) {
	f.calls.Add(1)
	if f.ListFunc == nil {
		return nil, errUnexpected
	}
	return f.ListFunc(ctx)
}

func (f *fakeEngine) Server(ctx context.Context) (*engine.ServerStatus, error) {
	f.calls.Add(1)
	if f.ServerFunc == nil {
		return nil, errUnexpected
	}
	return f.ServerFunc(ctx)
}

func (f *fakeEngine) Apps(ctx context.Context) ([]engine.App, error) {
	f.calls.Add(1)
	if f.AppsFunc == nil {
		return nil, errUnexpected
	}
	return f.AppsFunc(ctx)
}

func (f *fakeEngine) SearchApps(ctx context.Context, q catalog.Query) (*catalog.Result, error) {
	f.calls.Add(1)
	if f.SearchAppsFunc == nil {
		return nil, errUnexpected
	}
	return f.SearchAppsFunc(ctx, q)
}

func (f *fakeEngine) AppDetail(ctx context.Context, name, source string) (*engine.AppDetail, error) {
	f.calls.Add(1)
	if f.AppDetailFunc == nil {
		return nil, errUnexpected
	}
	return f.AppDetailFunc(ctx, name, source)
}

func (f *fakeEngine) AppIcon(ctx context.Context, name string) (*engine.AppIcon, error) {
	f.calls.Add(1)
	if f.AppIconFunc == nil {
		return nil, errUnexpected
	}
	return f.AppIconFunc(ctx, name)
}

func (f *fakeEngine) Preflight(ctx context.Context, opts engine.InstallOptions) (*engine.PreflightReport, error) {
	f.calls.Add(1)
	if f.PreflightFunc == nil {
		return nil, errUnexpected
	}
	return f.PreflightFunc(ctx, opts)
}

func (f *fakeEngine) CatalogSources(ctx context.Context) ([]engine.CatalogSource, error) {
	f.calls.Add(1)
	if f.SourcesFunc == nil {
		return nil, errUnexpected
	}
	return f.SourcesFunc(ctx)
}

func (f *fakeEngine) RefreshCatalog(ctx context.Context) ([]engine.CatalogSource, error) {
	return f.CatalogSources(ctx)
}

func (f *fakeEngine) AddCatalogSource(ctx context.Context, name, path string) (*engine.CatalogSource, error) {
	f.calls.Add(1)
	if f.AddSourceFunc == nil {
		return nil, errUnexpected
	}
	return f.AddSourceFunc(ctx, name, path)
}

func (f *fakeEngine) RemoveCatalogSource(ctx context.Context, name string) error {
	f.calls.Add(1)
	if f.RemoveSourceFunc == nil {
		return errUnexpected
	}
	return f.RemoveSourceFunc(ctx, name)
}

func (f *fakeEngine) Job(ctx context.Context, id string) (*engine.Job, error) {
	f.calls.Add(1)
	if f.JobFunc == nil {
		return nil, errUnexpected
	}
	return f.JobFunc(ctx, id)
}

func (f *fakeEngine) Upgrade(ctx context.Context, opts engine.UpgradeOptions) (*engine.Installation, error) {
	f.calls.Add(1)
	if f.UpgradeFunc == nil {
		return nil, errUnexpected
	}
	return f.UpgradeFunc(ctx, opts)
}

func (f *fakeEngine) Action(ctx context.Context, opts engine.ActionOptions) (*engine.Job, error) {
	f.calls.Add(1)
	if f.ActionFunc == nil {
		return nil, errUnexpected
	}
	return f.ActionFunc(ctx, opts)
}

func (f *fakeEngine) UninstallJob(ctx context.Context, opts engine.UninstallOptions) (*engine.Job, error) {
	f.calls.Add(1)
	if f.UninstallJobFunc == nil {
		return nil, errUnexpected
	}
	return f.UninstallJobFunc(ctx, opts)
}

func (f *fakeEngine) Logs(ctx context.Context, opts engine.LogsOptions) (io.ReadCloser, error) {
	f.calls.Add(1)
	if f.LogsFunc == nil {
		return nil, errUnexpected
	}
	return f.LogsFunc(ctx, opts)
}

func (f *fakeEngine) Jobs(ctx context.Context, limit int) ([]*engine.Job, error) {
	f.calls.Add(1)
	if f.JobsFunc == nil {
		return nil, errUnexpected
	}
	return f.JobsFunc(ctx, limit)
}

func (f *fakeEngine) JobEvents(ctx context.Context, id string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
	f.calls.Add(1)
	if f.JobEventsFunc == nil {
		return nil, nil, nil, errUnexpected
	}
	return f.JobEventsFunc(ctx, id)
}

// JobProgress is pure: it is not counted as an engine call.
func (f *fakeEngine) JobProgress(job *engine.Job) (int, string) {
	if job.Status == engine.JobSucceeded {
		return 100, ""
	}
	return 0, ""
}

func (f *fakeEngine) Unmanaged(ctx context.Context) ([]string, error) {
	f.calls.Add(1)
	if f.UnmanagedFunc == nil {
		return nil, errUnexpected
	}
	return f.UnmanagedFunc(ctx)
}

func (f *fakeEngine) PorterDocument(ctx context.Context, inst *engine.Installation, opts engine.PorterDocOptions) (*engine.PorterInstallation, error) {
	f.calls.Add(1)
	if f.PorterDocumentFunc == nil {
		return engine.NewPorterInstallation(inst, nil, nil, opts), nil
	}
	return f.PorterDocumentFunc(ctx, inst, opts)
}

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

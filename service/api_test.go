package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestAPI(t *testing.T) {
	finished := t1
	tests := []struct {
		name       string
		req        request
		eng        *fakeEngine
		wantStatus int
		wantHeader map[string]string
	}{
		{
			name: "installations", req: request{method: http.MethodGet, target: "/api/v1/installations"},
			eng: &fakeEngine{ListFunc: func(context.Context) ([]*engine.Installation, error) {
				return []*engine.Installation{redmine(engine.StatusRunning, "")}, nil
			}},
			wantStatus: http.StatusOK,
		},
		{
			name: "install_json", req: request{method: http.MethodPost, target: "/api/v1/installations",
				body: `{"app":"redmine","name":"redmine","parameters":{"admin_email":"a@example.com"}}`, ctype: "application/json"},
			eng: &fakeEngine{InstallFunc: func(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
				if o.App != "redmine" || o.Name != "redmine" || o.Parameters["admin_email"] != "a@example.com" {
					return nil, fmt.Errorf("options %+v: %w", o, engine.ErrInvalid)
				}
				return redmine(engine.StatusInstalling, "queued"), nil
			}},
			wantStatus: http.StatusAccepted, wantHeader: map[string]string{"Location": "/api/v1/jobs/01HZX0JOB"},
		},
		{
			name: "install_form", req: request{method: http.MethodPost, target: "/api/v1/installations",
				body: "app=redmine", ctype: "application/x-www-form-urlencoded"},
			eng: &fakeEngine{InstallFunc: func(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
				if o.App != "redmine" || o.Name != "redmine" {
					return nil, fmt.Errorf("options %+v: %w", o, engine.ErrInvalid)
				}
				return redmine(engine.StatusInstalling, "queued"), nil
			}},
			wantStatus: http.StatusAccepted,
		},
		{
			name: "install_reference", req: request{method: http.MethodPost, target: "/api/v1/installations",
				body: `{"reference":"localhost:5000/redmine:v5.1.0","insecureRegistry":true}`, ctype: "application/json"},
			eng: &fakeEngine{InstallFunc: func(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
				if o.App != "" || o.Reference != "localhost:5000/redmine:v5.1.0" || !o.Insecure || o.Archive != "" {
					return nil, fmt.Errorf("options %+v: %w", o, engine.ErrInvalid)
				}
				return redmine(engine.StatusInstalling, "queued"), nil
			}},
			wantStatus: http.StatusAccepted, wantHeader: map[string]string{"Location": "/api/v1/jobs/01HZX0JOB"},
		},
		{
			name: "install_app_and_reference", req: request{method: http.MethodPost, target: "/api/v1/installations",
				body: `{"app":"redmine","reference":"localhost:5000/redmine:v5.1.0"}`, ctype: "application/json"},
			eng: &fakeEngine{}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "install_bad_name", req: request{method: http.MethodPost, target: "/api/v1/installations",
				body: `{"app":"../etc"}`, ctype: "application/json"},
			eng: &fakeEngine{}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "install_missing_app", req: request{method: http.MethodPost, target: "/api/v1/installations"},
			eng: &fakeEngine{}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "install_conflict", req: request{method: http.MethodPost, target: "/api/v1/installations",
				body: `{"app":"redmine"}`, ctype: "application/json"},
			eng: &fakeEngine{InstallFunc: func(context.Context, engine.InstallOptions) (*engine.Installation, error) {
				return nil, engine.NewUserError(engine.ErrConflict, `installation "redmine" already exists`,
					"choose another name, or uninstall the existing installation first")
			}},
			wantStatus: http.StatusConflict,
		},
		{
			name: "get", req: request{method: http.MethodGet, target: "/api/v1/installations/redmine"},
			eng: &fakeEngine{GetFunc: func(context.Context, string) (*engine.Installation, error) {
				return redmine(engine.StatusFailed, "db exited"), nil
			}},
			wantStatus: http.StatusOK,
		},
		{
			name: "get_not_found", req: request{method: http.MethodGet, target: "/api/v1/installations/wordpress"},
			eng: &fakeEngine{GetFunc: func(_ context.Context, name string) (*engine.Installation, error) {
				return nil, engine.NewUserError(engine.ErrNotFound, fmt.Sprintf("installation %q not found", name),
					"list installations with GET /api/v1/installations")
			}},
			wantStatus: http.StatusNotFound,
		},
		{
			name: "get_bad_name", req: request{method: http.MethodGet, target: "/api/v1/installations/Red%20Mine"},
			eng: &fakeEngine{}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "delete", req: request{method: http.MethodDelete, target: "/api/v1/installations/redmine?purge=true"},
			eng: &fakeEngine{UninstallFunc: func(_ context.Context, o engine.UninstallOptions) error {
				if o.Name != "redmine" || !o.Purge {
					return engine.ErrInvalid
				}
				return nil
			}},
			wantStatus: http.StatusOK,
		},
		{
			name: "delete_unavailable", req: request{method: http.MethodDelete, target: "/api/v1/installations/redmine"},
			eng: &fakeEngine{UninstallFunc: func(context.Context, engine.UninstallOptions) error {
				return engine.NewUserError(engine.ErrUnavailable, "docker is not answering", "start docker")
			}},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name: "job", req: request{method: http.MethodGet, target: "/api/v1/jobs/01HZX0JOB"},
			eng: &fakeEngine{JobFunc: func(_ context.Context, id string) (*engine.Job, error) {
				return &engine.Job{ID: id, Installation: "redmine", Action: "install", RunID: "run-1",
					Status: engine.JobFailed, Message: "image pull failed", Created: t0, Finished: &finished}, nil
			}},
			wantStatus: http.StatusOK,
		},
		{
			name: "job_bad_id", req: request{method: http.MethodGet, target: "/api/v1/jobs/a%20b"},
			eng: &fakeEngine{}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "server", req: request{method: http.MethodGet, target: "/api/v1/server"},
			eng: &fakeEngine{ServerFunc: func(context.Context) (*engine.ServerStatus, error) {
				return serverStatus(), nil
			}},
			wantStatus: http.StatusOK,
		},
		{
			name: "server_internal", req: request{method: http.MethodGet, target: "/api/v1/server"},
			eng: &fakeEngine{ServerFunc: func(context.Context) (*engine.ServerStatus, error) {
				return nil, errors.New("open /proc/secret-path: permission denied")
			}},
			wantStatus: http.StatusInternalServerError,
		},
		{
			name: "unknown_route", req: request{method: http.MethodGet, target: "/api/v1/nope"},
			eng: &fakeEngine{}, wantStatus: http.StatusNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, tt.eng)
			res := do(t, s, tt.req)
			assert.Equal(t, tt.wantStatus, res.status, "body: %s", res.body)
			for k, v := range tt.wantHeader {
				assert.Equal(t, v, res.headers.Get(k), k)
			}
			assert.NotContains(t, string(res.body), "secret-path")
			assert.NotContains(t, string(res.body), "never-shown")
			if res.status >= 400 {
				var body map[string]any
				require.NoError(t, json.Unmarshal(res.body, &body))
				assert.NotEmpty(t, body["error"], "errors are {\"error\",\"hint\"}")
				for k := range body {
					assert.Contains(t, []string{"error", "hint"}, k)
				}
			}
			golden(t, "api_"+tt.name, res.body)
		})
	}
}

func TestPanicIsA500(t *testing.T) {
	var logs bytes.Buffer
	eng := &fakeEngine{ListFunc: func(context.Context) ([]*engine.Installation, error) { panic("boom") }}
	s := New(Config{APIToken: testToken}, eng, newMemUsers(), slog.New(slog.NewTextHandler(&logs, nil)))
	res := do(t, s, request{method: http.MethodGet, target: "/getAllAppInfo"})
	assert.Equal(t, http.StatusInternalServerError, res.status)
	code, msg, _ := envelopeOf(t, res.body)
	assert.Equal(t, "0", code)
	assert.Contains(t, msg, "req-test")
	assert.Contains(t, logs.String(), "requestId=req-test")
	assert.Contains(t, logs.String(), "boom")
}

func TestListenShutsDown(t *testing.T) {
	s := New(Config{AdminPassword: "pw-for-listen-test", APIToken: testToken, ShutdownTimeout: time.Second},
		okEngine(), newMemUsers(), nil)
	// Find a free port, then let Listen take it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, addr) }()

	require.Eventually(t, func() bool {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/health", http.NoBody)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}

package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

func TestLifecycleRoutes(t *testing.T) {
	queued := func(action string) *engine.Job {
		return &engine.Job{ID: "01HZX0JOB", Installation: "redmine", Action: action, Status: engine.JobQueued, Created: t0}
	}
	tests := []struct {
		name       string
		req        request
		eng        *fakeEngine
		wantStatus int
		wantHeader map[string]string
		wantCalls  int32
	}{
		{
			name: "upgrade", req: request{method: http.MethodPost, target: "/api/v1/installations/redmine/upgrade",
				body: `{"parameters":{"title":"x"}}`, ctype: "application/json"},
			eng: &fakeEngine{UpgradeFunc: func(_ context.Context, o engine.UpgradeOptions) (*engine.Installation, error) {
				if o.Name != "redmine" || o.Parameters["title"] != "x" {
					return nil, fmt.Errorf("options %+v: %w", o, engine.ErrInvalid)
				}
				return redmine(engine.StatusUpgrading, ""), nil
			}},
			wantStatus: http.StatusAccepted, wantHeader: map[string]string{"Location": "/api/v1/jobs/01HZX0JOB"}, wantCalls: 1,
		},
		{
			name: "upgrade_restore_on_failure", req: request{method: http.MethodPost, target: "/api/v1/installations/redmine/upgrade",
				body: `{"restoreOnFailure":true}`, ctype: "application/json"},
			eng: &fakeEngine{UpgradeFunc: func(_ context.Context, o engine.UpgradeOptions) (*engine.Installation, error) {
				if !o.RestoreOnFailure {
					return nil, fmt.Errorf("options %+v: %w", o, engine.ErrInvalid)
				}
				return redmine(engine.StatusUpgrading, ""), nil
			}},
			wantStatus: http.StatusAccepted, wantCalls: 1,
		},
		{
			name: "upgrade_busy", req: request{method: http.MethodPost, target: "/api/v1/installations/redmine/upgrade"},
			eng: &fakeEngine{UpgradeFunc: func(context.Context, engine.UpgradeOptions) (*engine.Installation, error) {
				return nil, engine.NewUserError(engine.ErrConflict, "cannot upgrade redmine: it is installing", "wait for the running job to finish")
			}},
			wantStatus: http.StatusConflict, wantCalls: 1,
		},
		{
			name: "action_stop", req: request{method: http.MethodPost, target: "/api/v1/installations/redmine/actions/stop"},
			eng: &fakeEngine{ActionFunc: func(_ context.Context, o engine.ActionOptions) (*engine.Job, error) {
				return queued(o.Action), nil
			}},
			wantStatus: http.StatusAccepted, wantHeader: map[string]string{"Location": "/api/v1/jobs/01HZX0JOB"}, wantCalls: 1,
		},
		{
			name: "action_install_refused", req: request{method: http.MethodPost, target: "/api/v1/installations/redmine/actions/install"},
			eng:        &fakeEngine{},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "delete_async", req: request{method: http.MethodDelete, target: "/api/v1/installations/redmine?async=true&purge=true"},
			eng: &fakeEngine{UninstallJobFunc: func(_ context.Context, o engine.UninstallOptions) (*engine.Job, error) {
				if !o.Purge {
					return nil, fmt.Errorf("purge lost: %w", engine.ErrInvalid)
				}
				return queued("uninstall"), nil
			}},
			wantStatus: http.StatusAccepted, wantCalls: 1,
		},
		{
			name:       "delete_bad_purge",
			req:        request{method: http.MethodDelete, target: "/api/v1/installations/redmine?purge=maybe"},
			eng:        &fakeEngine{},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "jobs", req: request{method: http.MethodGet, target: "/api/v1/jobs?limit=1"},
			eng: &fakeEngine{JobsFunc: func(_ context.Context, limit int) ([]*engine.Job, error) {
				if limit != 1 {
					return nil, fmt.Errorf("limit %d: %w", limit, engine.ErrInvalid)
				}
				return []*engine.Job{queued("install")}, nil
			}},
			wantStatus: http.StatusOK, wantCalls: 1,
		},
		{
			name:       "jobs_bad_limit",
			req:        request{method: http.MethodGet, target: "/api/v1/jobs?limit=-3"},
			eng:        &fakeEngine{},
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "logs_bad_tail",
			req:        request{method: http.MethodGet, target: "/api/v1/installations/redmine/logs?tail=x"},
			eng:        &fakeEngine{},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "logs_not_installed", req: request{method: http.MethodGet, target: "/api/v1/installations/redmine/logs"},
			eng: &fakeEngine{LogsFunc: func(context.Context, engine.LogsOptions) (io.ReadCloser, error) {
				return nil, engine.NewUserError(engine.ErrNotFound, "redmine is not installed", "list installations with `stackhub list`")
			}},
			wantStatus: http.StatusNotFound, wantCalls: 1,
		},
		{
			name: "unmanaged", req: request{method: http.MethodGet, target: "/api/v1/unmanaged"},
			eng: &fakeEngine{UnmanagedFunc: func(context.Context) ([]string, error) {
				return []string{"stackhub-old"}, nil
			}},
			wantStatus: http.StatusOK, wantCalls: 1,
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
			assert.Equal(t, tt.wantCalls, tt.eng.Calls(), "engine calls")
			golden(t, "lifecycle_"+tt.name, res.body)
		})
	}
}

func TestLogsStream(t *testing.T) {
	var got engine.LogsOptions
	eng := &fakeEngine{LogsFunc: func(_ context.Context, o engine.LogsOptions) (io.ReadCloser, error) {
		got = o
		return io.NopCloser(strings.NewReader("one\ntwo\n")), nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/installations/redmine/logs?tail=2&follow=true&service=db"})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "one\ntwo\n", string(res.body))
	assert.Equal(t, engine.LogsOptions{Name: "redmine", Service: "db", Tail: 2, Follow: true}, got)
	assert.Contains(t, res.headers.Get("Content-Type"), "text/plain")
}

func TestJobEventsStream(t *testing.T) {
	past := []engine.JobEvent{
		{Job: "J1", Seq: 1, Type: engine.JobEventStatus, Status: engine.JobQueued, Time: t0},
		{Job: "J1", Seq: 2, Type: engine.JobEventStatus, Status: engine.JobRunning, Progress: 5, Time: t0},
	}
	next := make(chan engine.JobEvent, 2)
	next <- engine.JobEvent{Job: "J1", Seq: 3, Type: engine.JobEventLog, Line: "pulling", Progress: 30, Time: t0}
	next <- engine.JobEvent{Job: "J1", Seq: 4, Type: engine.JobEventStatus, Status: engine.JobSucceeded, Progress: 100, Time: t0}
	close(next)
	stopped := false
	eng := &fakeEngine{JobEventsFunc: func(context.Context, string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
		return past, next, func() { stopped = true }, nil
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/jobs/J1/events", headers: map[string]string{"Last-Event-ID": "1"}})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "text/event-stream", res.headers.Get("Content-Type"))
	body := string(res.body)
	assert.NotContains(t, body, "id: 1\n", "events up to Last-Event-ID are skipped")
	assert.Contains(t, body, "id: 2\nevent: status\ndata: {\"job\":\"J1\",\"seq\":2,\"type\":\"status\",\"status\":\"running\"")
	assert.Contains(t, body, "event: log\ndata: {\"job\":\"J1\",\"seq\":3,\"type\":\"log\",\"progress\":30,\"line\":\"pulling\"")
	assert.Contains(t, body, "id: 4\nevent: status")
	assert.True(t, stopped, "the subscription is released")
}

func TestJobEventsNotFound(t *testing.T) {
	eng := &fakeEngine{JobEventsFunc: func(context.Context, string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
		return nil, nil, nil, fmt.Errorf("get job J9: %w", engine.ErrNotFound)
	}}
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodGet, target: "/api/v1/jobs/J9/events"})
	assert.Equal(t, http.StatusNotFound, res.status)
}

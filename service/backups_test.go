package service

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
	"github.com/stackhub/stackhub/service/servicetest"
)

func TestBackupRoutes(t *testing.T) {
	eng := servicetest.NewEngine()
	_, err := eng.Mem.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	s, _ := newTestServer(t, eng)

	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/installations/hello/backups"})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	assert.Contains(t, res.headers.Get("Location"), "/api/v1/jobs/")

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/installations/hello/backups"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var list apitype.BackupList
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Len(t, list.Backups, 1)
	assert.Equal(t, "hello", list.Backups[0].App)
	assert.Equal(t, "stop", list.Backups[0].Quiesce)

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/installations/hello/backups/latest"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.NotContains(t, string(res.body), "s3cret-output", "no secret in an answer")
	var detail apitype.BackupDetail
	require.NoError(t, json.Unmarshal(res.body, &detail))
	assert.Equal(t, []string{"password"}, detail.Outputs)
	assert.Equal(t, "data", detail.Mounts[0].Key)

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/latest/verify"})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	assert.Contains(t, res.headers.Get("Location"), "/api/v1/jobs/")
	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/installations/hello/backups"})
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.NotNil(t, list.Backups[0].Verified, "the outcome shows on the backup")
	assert.True(t, list.Backups[0].Verified.OK)

	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"bad id", request{method: http.MethodGet, target: "/api/v1/installations/hello/backups/xyz!"}, http.StatusBadRequest},
		{"unknown id", request{method: http.MethodGet, target: "/api/v1/installations/hello/backups/abc"}, http.StatusNotFound},
		{"restore as itself", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/latest/restore", body: `{"as":"hello"}`, ctype: "application/json"}, http.StatusBadRequest},
		{"restore as", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/latest/restore", body: `{"as":"hello2"}`, ctype: "application/json"}, http.StatusAccepted},
		{"restore in place", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/" + list.Backups[0].ID[:8] + "/restore"}, http.StatusAccepted},
		{"verify unknown id", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/abc/verify"}, http.StatusNotFound},
		{"verify bad id", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/xyz!/verify"}, http.StatusBadRequest},
		{"prune keeps nothing", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/prune", body: `{}`, ctype: "application/json"}, http.StatusBadRequest},
		{"prune", request{method: http.MethodPost, target: "/api/v1/installations/hello/backups/prune", body: `{"keepLast":1}`, ctype: "application/json"}, http.StatusOK},
		{"schedule", request{method: http.MethodGet, target: "/api/v1/installations/hello/backups/schedule"}, http.StatusOK},
		{"schedule of unknown", request{method: http.MethodGet, target: "/api/v1/installations/nope/backups/schedule"}, http.StatusNotFound},
		{"schedule bad cron", request{method: http.MethodPut, target: "/api/v1/installations/hello/backups/schedule", body: `{"cron":"daily"}`, ctype: "application/json"}, http.StatusBadRequest},
		{"schedule off with cron", request{method: http.MethodPut, target: "/api/v1/installations/hello/backups/schedule", body: `{"cron":"@daily","off":true}`, ctype: "application/json"}, http.StatusBadRequest},
		{"schedule off", request{method: http.MethodPut, target: "/api/v1/installations/hello/backups/schedule", body: `{"off":true}`, ctype: "application/json"}, http.StatusOK},
		{"schedule set", request{method: http.MethodPut, target: "/api/v1/installations/hello/backups/schedule", body: `{"cron":"0 3 * * *","keepLast":7,"keepDaily":7}`, ctype: "application/json"}, http.StatusOK},
		{"schedule clear", request{method: http.MethodDelete, target: "/api/v1/installations/hello/backups/schedule"}, http.StatusOK},
		{"delete latest refused", request{method: http.MethodDelete, target: "/api/v1/installations/hello/backups/abc"}, http.StatusNotFound},
		{"delete", request{method: http.MethodDelete, target: "/api/v1/installations/hello/backups/" + list.Backups[0].ID}, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, tt.req)
			assert.Equal(t, tt.status, res.status, "body: %s", res.body)
		})
	}
}

func TestServerExportImportRoutes(t *testing.T) {
	eng := servicetest.NewEngine()
	_, err := eng.Mem.Install(t.Context(), engine.InstallOptions{App: "hello"})
	require.NoError(t, err)
	s, _ := newTestServer(t, eng)
	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/installations/hello/backups"})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)

	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/server/export"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.NotContains(t, string(res.body), "s3cret-output", "no secret in an export")
	var doc apitype.ServerExport
	require.NoError(t, json.Unmarshal(res.body, &doc))
	require.Len(t, doc.Installations, 1)
	assert.Equal(t, engine.ServerExportFormat, doc.Format)
	assert.NotEmpty(t, doc.Installations[0].Backup)

	// Into a server that has hello already: skipped; a new name gets a job.
	doc.Installations = append(doc.Installations, apitype.ExportedInstallation{Name: "other", App: "hello", Backup: "abcd"},
		apitype.ExportedInstallation{Name: "bare", App: "hello"})
	body, err := json.Marshal(doc)
	require.NoError(t, err)
	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/server/import", body: string(body), ctype: "application/json"})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	var out apitype.ServerImportResult
	require.NoError(t, json.Unmarshal(res.body, &out))
	require.Len(t, out.Installations, 3)
	assert.Equal(t, "already installed here", out.Installations[0].Skipped)
	require.NotNil(t, out.Installations[1].Job)
	assert.Equal(t, "import", out.Installations[1].Job.Action)
	assert.Contains(t, out.Installations[2].Skipped, "no backup")

	res = do(t, s, request{method: http.MethodPost, target: "/api/v1/server/import", body: `{"format":"zip"}`, ctype: "application/json"})
	assert.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
}

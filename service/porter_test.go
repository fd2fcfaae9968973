package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/porter"
)

// porterEngine answers redmine (run: admin_password sensitive) and an older
// wordpress without runs, and builds documents as the engine does.
func porterEngine() *fakeEngine {
	run := &engine.Run{
		ID: "01HZX0RUN", Installation: "redmine", Action: "install", BundleDigest: "sha256:abc",
		Bundle: []byte(`{"version":"5.1.0","parameters":{"admin_password":{"definition":"p"},"admin_email":{"definition":"e"}},
			"definitions":{"p":{"type":"string","writeOnly":true},"e":{"type":"string"}}}`),
		Parameters: map[string]any{"admin_password": "never-shown", "admin_email": "a@example.com"}, Created: t0,
	}
	results := []*engine.Result{
		{ID: "01HZX0RES1", RunID: run.ID, Status: engine.ResultRunning, Created: t0},
		{ID: "01HZX0RES2", RunID: run.ID, Status: engine.ResultSucceeded, Created: t1},
	}
	get := func(name string) *engine.Installation {
		if name == "wordpress" {
			return &engine.Installation{ID: "01HZX0WORDPRESS", Name: "wordpress", App: "wordpress", BundleVersion: "6.5.0",
				Status: engine.StatusInstalling, ContainerName: "stackhub-wordpress", Created: t0, Modified: t0, LastAction: "install"}
		}
		inst := redmine(engine.StatusRunning, "")
		inst.LastAction, inst.LastRunID = "install", run.ID
		return inst
	}
	return &fakeEngine{
		GetFunc: func(_ context.Context, name string) (*engine.Installation, error) { return get(name), nil },
		ListFunc: func(context.Context) ([]*engine.Installation, error) {
			return []*engine.Installation{get("wordpress"), get("redmine")}, nil
		},
		PorterDocumentFunc: func(_ context.Context, inst *engine.Installation, opts porter.DocOptions) (*porter.Installation, error) {
			if inst.LastRunID == "" {
				return porter.NewInstallation(inst, nil, nil, opts), nil
			}
			return porter.NewInstallation(inst, run, results, opts), nil
		},
	}
}

func TestPorterFormat(t *testing.T) {
	users := &memAccounts{memUsers: newMemUsers(), roles: map[string]string{}, settings: map[string]string{}}
	s := New(Config{DataDir: t.TempDir(), APIToken: testToken, AdminPassword: "s3cret-pw-long"},
		porterEngine(), users, slog.New(slog.DiscardHandler))
	s.now = func() time.Time { return t0 }
	require.NoError(t, s.EnsureAdmin(t.Context()))
	for _, u := range []struct{ name, role string }{{"ops", RoleOperator}, {"eve", RoleViewer}} {
		require.NoError(t, users.CreateUserWithRole(t.Context(), u.name, "x", u.role))
	}
	admin, ops, eve := tokenFor(t, users, "admin"), tokenFor(t, users, "ops"), tokenFor(t, users, "eve")

	tests := []struct {
		name   string
		as     map[string]string
		target string
		want   int
		// golden names testdata/porter_<golden>.json; empty: none.
		golden     string
		wantSecret bool
		wantMsg    string
	}{
		{name: "show masks secrets", as: eve, target: "/api/v1/installations/redmine?format=porter", want: 200, golden: "show"},
		{name: "list", as: eve, target: "/api/v1/installations?format=porter", want: 200, golden: "list"},
		{name: "admin reveals", as: admin, target: "/api/v1/installations/redmine?format=porter&reveal=true", want: 200, wantSecret: true},
		{name: "operator may not reveal", as: ops, target: "/api/v1/installations/redmine?format=porter&reveal=true", want: 403,
			wantMsg: "this needs the admin role; ops is operator"},
		{name: "viewer may not reveal", as: eve, target: "/api/v1/installations/redmine?format=porter&reveal=1", want: 403,
			wantMsg: "this needs the admin role"},
		{name: "reveal needs the porter format", as: admin, target: "/api/v1/installations/redmine?reveal=true", want: 400,
			wantMsg: "reveal works only with format=porter"},
		{name: "unknown format", as: eve, target: "/api/v1/installations?format=helm", want: 400, wantMsg: `format \"helm\" is not supported`},
		{name: "bad reveal", as: admin, target: "/api/v1/installations/redmine?format=porter&reveal=maybe", want: 400,
			wantMsg: "query parameter reveal has a bad value"},
		{name: "default answer unchanged", as: eve, target: "/api/v1/installations/redmine", want: 200, wantMsg: `"containerName":"stackhub-redmine"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, request{method: http.MethodGet, target: tt.target, headers: tt.as, anonymous: true})
			assert.Equal(t, tt.want, res.status, "body: %s", res.body)
			if tt.wantSecret {
				assert.Contains(t, string(res.body), "never-shown")
			} else {
				assert.NotContains(t, string(res.body), "never-shown")
			}
			if tt.wantMsg != "" {
				assert.Contains(t, string(res.body), tt.wantMsg)
			}
			if tt.golden != "" {
				golden(t, "porter_"+tt.golden, res.body)
			}
		})
	}

	t.Run("list is newest modified first, without parameters", func(t *testing.T) {
		res := do(t, s, request{method: http.MethodGet, target: "/api/v1/installations?format=porter", headers: eve, anonymous: true})
		var docs []map[string]any
		require.NoError(t, json.Unmarshal(res.body, &docs))
		require.Len(t, docs, 2)
		assert.Equal(t, "redmine", docs[0]["name"])
		assert.Equal(t, "wordpress", docs[1]["name"])
		for _, d := range docs {
			assert.NotContains(t, d, "parameters")
			assert.Nil(t, d["_calculated"].(map[string]any)["resolvedParameters"])
			assert.Contains(t, d, "stackhub")
		}
	})

	t.Run("revealing is audited", func(t *testing.T) {
		var got []string
		for _, e := range users.log {
			got = append(got, e.User+" "+e.Action+" "+e.Target)
		}
		assert.Equal(t, []string{"admin reveal-secrets redmine"}, got)
	})
}

package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/catalog"
	"github.com/stackhub/stackhub/service/apitype"
)

func TestAppPermissionsAndConsent(t *testing.T) {
	eng := okEngine()
	eng.AppDetailFunc = func(context.Context, string, string) (*engine.AppDetail, error) {
		return &engine.AppDetail{Entry: catalog.Entry{Name: "probe"}, Permissions: &engine.Permissions{
			DockerSocket: true, Privileged: []string{"agent"},
			HostPaths: []engine.HostPathMount{{Service: "agent", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}},
			Ports:     []engine.PublishedPortSpec{{Service: "agent", Target: 9000, Protocol: "tcp"}},
		}}, nil
	}
	var allowed []bool
	eng.InstallFunc = func(_ context.Context, o engine.InstallOptions) (*engine.Installation, error) {
		allowed = append(allowed, o.AllowPrivileged)
		return redmine(engine.StatusInstalling, ""), nil
	}
	users := &memAccounts{memUsers: newMemUsers(), roles: map[string]string{}, settings: map[string]string{}}
	s := New(Config{DataDir: t.TempDir()}, eng, users, slog.New(slog.DiscardHandler))
	require.NoError(t, users.CreateUserWithRole(t.Context(), "root", "x", RoleAdmin))
	require.NoError(t, users.CreateUserWithRole(t.Context(), "ops", "x", RoleOperator))
	admin, ops := tokenFor(t, users, "root"), tokenFor(t, users, "ops")

	res := do(t, s, request{method: "GET", target: "/api/v1/apps/probe", headers: ops, anonymous: true})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var d struct {
		Permissions apitype.Permissions `json:"permissions"`
	}
	require.NoError(t, json.Unmarshal(res.body, &d))
	assert.True(t, d.Permissions.DockerSocket)
	assert.Equal(t, []string{"privileged: agent", "host path /var/run/docker.sock (service agent)"}, d.Permissions.PrivilegedRequests)
	assert.Equal(t, []apitype.PublishedPort{{Service: "agent", Target: 9000, Protocol: "tcp"}}, d.Permissions.Ports)
	assert.Equal(t, []string{}, d.Permissions.Devices)

	install := func(as map[string]string, body string) response {
		return do(t, s, request{method: "POST", target: "/api/v1/installations", body: body, ctype: "application/json", headers: as, anonymous: true})
	}
	res = install(ops, `{"app":"probe","allow":["privileged"]}`)
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Contains(t, string(res.body), "only admins may allow")
	res = install(admin, `{"app":"probe","allow":["root"]}`)
	assert.Equal(t, http.StatusBadRequest, res.status)
	res = install(admin, `{"app":"probe","allow":["privileged"]}`)
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	res = install(ops, `{"app":"probe"}`)
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	assert.Equal(t, []bool{true, false}, allowed)

	entries, err := users.ListAudit(t.Context(), 0)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.User+" "+e.Action+" "+e.Target)
	}
	assert.Equal(t, []string{"ops install redmine", "root install redmine", "root allow-privileged redmine"}, got)
}

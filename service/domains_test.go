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

func TestDomainsAPI(t *testing.T) {
	eng := servicetest.NewEngine()
	for _, name := range []string{"hello", "hello2"} {
		_, err := eng.Mem.Install(t.Context(), engine.InstallOptions{App: "hello", Name: name})
		require.NoError(t, err)
	}
	s, _ := newTestServer(t, eng)
	s.cfg.DomainStatus = func(name string) string { return "pending" }
	post := func(body string) response {
		return do(t, s, request{method: http.MethodPost, target: "/api/v1/domains", ctype: "application/json", body: body})
	}

	res := post(`{"app":"hello","domain":"Blog.Example.org"}`)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	var d apitype.Domain
	require.NoError(t, json.Unmarshal(res.body, &d))
	assert.Equal(t, "blog.example.org", d.Name)
	assert.Equal(t, "port", d.Port, "the app's one port")
	assert.Equal(t, "acme", d.TLS)
	assert.Equal(t, "https://blog.example.org/", d.URL)
	assert.Equal(t, "pending", d.Certificate, "the proxy's word on the certificate")

	bad := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"invalid name", `{"app":"hello","domain":"blog_example.org"}`, http.StatusBadRequest, "not valid"},
		{"url instead of a name", `{"app":"hello","domain":"https://x.example.org/"}`, http.StatusBadRequest, "bare host name"},
		{"used by another app", `{"app":"hello2","domain":"blog.example.org"}`, http.StatusConflict, "already used by app hello"},
		{"port the app lacks", `{"app":"hello","domain":"a.example.org","port":"admin"}`, http.StatusBadRequest, `no port \"admin\"`},
		{"app not installed", `{"app":"nope","domain":"a.example.org"}`, http.StatusNotFound, "not installed"},
		{"unknown tls", `{"app":"hello","domain":"a.example.org","tls":"letsencrypt"}`, http.StatusBadRequest, "not known"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			res := post(tt.body)
			assert.Equal(t, tt.status, res.status, "body: %s", res.body)
			assert.Contains(t, string(res.body), tt.msg)
		})
	}

	res = post(`{"app":"hello2","domain":"nas.lan"}`)
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	res = do(t, s, request{method: http.MethodGet, target: "/api/v1/domains"})
	require.Equal(t, http.StatusOK, res.status)
	var list apitype.DomainList
	require.NoError(t, json.Unmarshal(res.body, &list))
	require.Len(t, list.Domains, 2)
	assert.Equal(t, "self-signed", list.Domains[1].TLS)

	res = do(t, s, request{method: http.MethodDelete, target: "/api/v1/domains/blog.example.org"})
	assert.Equal(t, http.StatusNoContent, res.status)
	res = do(t, s, request{method: http.MethodDelete, target: "/api/v1/domains/blog.example.org"})
	assert.Equal(t, http.StatusNotFound, res.status)
}

func TestDomainAddWarnsWhenTheProxyCannotServe(t *testing.T) {
	eng := servicetest.NewEngine()
	_, err := eng.Mem.Install(t.Context(), engine.InstallOptions{App: "hello", Name: "hello"})
	require.NoError(t, err)
	s, _ := newTestServer(t, eng)
	s.cfg.ProxyCheck = func() []string {
		return []string{"the proxy cannot listen on :443: bind: address already in use (process nginx (pid 812) listens there: stop it, or choose another port with --proxy-https)"}
	}
	res := do(t, s, request{method: http.MethodPost, target: "/api/v1/domains", ctype: "application/json", body: `{"app":"hello","domain":"nas.lan","login":true}`})
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	var d apitype.Domain
	require.NoError(t, json.Unmarshal(res.body, &d))
	require.Len(t, d.Warnings, 1)
	assert.Contains(t, d.Warnings[0], "process nginx (pid 812)")
	assert.True(t, d.Login)
}

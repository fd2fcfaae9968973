package client_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/client"
)

func TestGateURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/api/v1/gate" || r.Header.Get("Authorization") != "Bearer tok":
			http.Error(w, `{"error":"not logged in"}`, http.StatusUnauthorized)
		case r.URL.Query().Get("rd") == "https://wiki.lan/":
			http.Redirect(w, r, "https://wiki.lan/.stackhub/gate?ticket=T&rd=%2F", http.StatusSeeOther)
		default:
			http.Error(w, `{"error":"no domain with a login gate"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, "tok")
	loc, err := c.GateURL(t.Context(), "https://wiki.lan/")
	require.NoError(t, err)
	assert.Equal(t, "https://wiki.lan/.stackhub/gate?ticket=T&rd=%2F", loc, "the redirect is returned, not followed")
	_, err = c.GateURL(t.Context(), "https://open.lan/")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = client.New(srv.URL, "").GateURL(t.Context(), "https://wiki.lan/")
	var se *client.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusUnauthorized, se.Status)
}

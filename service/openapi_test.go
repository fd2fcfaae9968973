package service

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type openAPIDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
}

// TestOpenAPIMatchesRoutes checks the embedded OpenAPI document against the
// route table in both directions: every route is documented, and every
// documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDocument
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "openapi version %q", doc.OpenAPI)

	param := regexp.MustCompile(`:([a-zA-Z]+)`)
	s, _ := newTestServer(t, okEngine())
	served := map[string]bool{}
	for _, r := range s.routes() {
		served[r.method+" "+param.ReplaceAllString(r.path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	assert.Equal(t, keys(served), keys(documented), "routes and OpenAPI operations differ")

	// Every $ref points at a component that exists.
	refRE := regexp.MustCompile(`"\$ref":\s*"#/components/([a-zA-Z]+)/([A-Za-z0-9]+)"`)
	for _, m := range refRE.FindAllStringSubmatch(string(openAPIDoc), -1) {
		_, ok := doc.Components[m[1]][m[2]]
		assert.True(t, ok, "dangling $ref %s/%s", m[1], m[2])
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIServed checks the document is served, behind authentication.
func TestOpenAPIServed(t *testing.T) {
	s, _ := newTestServer(t, okEngine())
	res := do(t, s, request{method: "GET", target: "/api/v1/openapi.json", anonymous: true})
	assert.Equal(t, 401, res.status)
	res = do(t, s, request{method: "GET", target: "/api/v1/openapi.json"})
	require.Equal(t, 200, res.status)
	assert.JSONEq(t, string(openAPIDoc), string(res.body))
}

//go:build integration

package faults_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileCatalog is the fixtures plus broken bundles.
func hostileCatalog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := fixtureCatalog(t)
	hello, err := os.ReadFile(filepath.Join(src, "hello", "porter.yaml"))
	require.NoError(t, err)
	compose, err := os.ReadFile(filepath.Join(src, "hello", "docker-compose.yml"))
	require.NoError(t, err)
	write := func(app, name, data string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, app), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, app, name), []byte(data), 0o644))
	}
	rename := func(name string) string {
		return strings.Replace(string(hello), "name: hello\n", "name: "+name+"\n", 1)
	}
	write("hello", "porter.yaml", string(hello))
	write("hello", "docker-compose.yml", string(compose))

	write("bad-syntax", "porter.yaml", "schemaVersion: 1.0.1\nname: bad-syntax\n  version: [unclosed\n\tinstall: {")
	write("bad-syntax", "docker-compose.yml", string(compose))

	bomb := "schemaVersion: 1.0.1\nname: yaml-bomb\nversion: 0.1.0\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	write("yaml-bomb", "porter.yaml", bomb)
	write("yaml-bomb", "docker-compose.yml", string(compose))

	write("not-a-manifest", "porter.yaml", "- just\n- a list\n")
	write("no-install", "porter.yaml", "schemaVersion: 1.0.1\nname: no-install\nversion: 0.1.0\nmixins: [stackhub]\n")
	write("bad-version", "porter.yaml", strings.Replace(rename("bad-version"), "version: 0.1.0", "version: not.a.semver!", 1))
	write("bad-version", "docker-compose.yml", string(compose))
	write("unknown-mixin", "porter.yaml", strings.Replace(rename("unknown-mixin"), "  - stackhub:\n      description: \"Deploy hello\"", "  - nosuchmixin:\n      description: \"Deploy hello\"", 1))
	write("unknown-mixin", "docker-compose.yml", string(compose))
	return dir
}

type hostileCase struct {
	name   string
	method string
	path   string
	body   string
	ctype  string
}

func hostileCases() []hostileCase {
	install := func(name, app string) hostileCase {
		return hostileCase{name: name, method: http.MethodGet, path: "/installApp?" + url.Values{"appName": {app}}.Encode()}
	}
	post := func(name, path, ctype, body string) hostileCase {
		return hostileCase{name: name, method: http.MethodPost, path: path, body: body, ctype: ctype}
	}
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	cases := []hostileCase{
		// Bundles whose manifest is broken.
		install("bad YAML syntax", "bad-syntax"),
		install("YAML bomb", "yaml-bomb"),
		install("manifest is a list", "not-a-manifest"),
		install("manifest without install or compose", "no-install"),
		install("bad version", "bad-version"),
		install("unknown mixin", "unknown-mixin"),
		// Hostile app names.
		install("path traversal", "../../../etc/passwd"),
		install("absolute path", "/etc"),
		install("NUL byte", "hello\x00"),
		install("CRLF", "hello\r\nX-Injected: 1"),
		install("shell", "$(touch /tmp/pwned)"),
		install("SQL", "hello' OR '1'='1"),
		install("template", "{{ bundle.credentials.x }}"),
		install("unicode", "héllo"),
		install("right-to-left", "hello\u202e"),
		install("leading dash", "-hello"),
		install("very long", strings.Repeat("a", 5000)),
		install("dot", "."),
		install("docker reserved", "hello_"),
		// Hostile parameters (REST).
		post("unknown parameter", "/api/v1/installations", "application/json", `{"app":"hello","name":"h1","parameters":{"nope":"x"}}`),
		post("parameter is an object", "/api/v1/installations", "application/json", `{"app":"hello","name":"h2","parameters":{"title":{"a":1}}}`),
		post("parameters is a list", "/api/v1/installations", "application/json", `{"app":"hello","name":"h3","parameters":["title"]}`),
		post("hostile installation name", "/api/v1/installations", "application/json", `{"app":"hello","name":"../x"}`),
		// Malformed and oversize bodies.
		post("truncated JSON", "/installApp", "application/json", `{"appName":`),
		post("JSON list", "/installApp", "application/json", `["hello"]`),
		post("JSON number name", "/installApp", "application/json", `{"appName":42}`),
		post("JSON null", "/installApp", "application/json", `null`),
		post("deeply nested JSON", "/installApp", "application/json", deep),
		post("duplicate keys", "/installApp", "application/json", `{"appName":"hello","appName":"../x"}`),
		post("invalid UTF-8", "/installApp", "application/json", "{\"appName\":\"hel\xff\xfelo\"}"),
		post("oversize body", "/installApp", "application/json", `{"appName":"hello","x":"`+strings.Repeat("A", 200<<10)+`"}`),
		post("XML", "/installApp", "application/xml", `<appName>hello</appName>`),
		post("bad form encoding", "/installApp", "application/x-www-form-urlencoded", "appName=%zz"),
		post("multipart without boundary", "/installApp", "multipart/form-data", "--x\r\n"),
		post("uninstall with a traversal", "/uninstallApp", "application/json", `{"appName":"../../etc"}`),
		post("getAppInfo of a hostile name", "/getAppInfo", "application/json", `{"appName":"hello;reboot"}`),
	}
	return cases
}

// TestHostileInput sends a corpus of hostile bundles, names, parameters and
// bodies: each gets a 4xx with a message, none a 5xx, the service keeps
// running, and nothing is created.
func TestHostileInput(t *testing.T) {
	s := newServer(t, serverOptions{catalog: hostileCatalog(t), ports: "23501-23599"})
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			var body *bytes.Reader
			if tc.body != "" {
				body = bytes.NewReader([]byte(tc.body))
			} else {
				body = bytes.NewReader(nil)
			}
			e, err := s.request(tc.method, tc.path, body, tc.ctype)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, e.status, 400, e.raw)
			assert.Less(t, e.status, 500, e.raw)
			// PRD endpoints answer the envelope, REST ones {"error","hint"}.
			if strings.HasPrefix(tc.path, "/api/") || e.Code == "" {
				assert.Regexp(t, `"error":"[^"]+`, e.raw)
			} else {
				assert.Equal(t, "0", e.Code, e.raw)
				assert.NotEmpty(t, e.Message, e.raw)
			}
			require.True(t, s.running(), "serve crashed:\n%s", s.logs.String())
		})
	}
	e := s.get("/getAllAppInfo", nil)
	require.Equal(t, "1", e.Code, e.raw)
	assert.NotContains(t, e.raw, "containerName", "nothing was recorded: %s", e.raw)
	assert.Empty(t, dockerLines(t, "ps", "-aq", "--filter", "name=^"+s.prefix+"-"), "nothing was created")
	st := openStore(t, s.data)
	leases, err := st.ListPortLeases(t.Context())
	require.NoError(t, err)
	assert.Empty(t, leases)
	assert.NotContains(t, s.logs.String(), "panic")
	_, err = os.Stat("/tmp/pwned")
	assert.True(t, os.IsNotExist(err))
}

package service

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/engine"
)

// policyDoc is the written policy: the route × role table between the
// policy markers.
const policyDoc = "../docs/security.md"

// policyRoles are the table's columns, in order.
var policyRoles = []string{"anonymous", RoleViewer, RoleOperator, RoleAdmin}

// policyRowRE matches `| `METHOD /path` {"variant"} | yes | no | ... |`.
var policyRowRE = regexp.MustCompile("^\\| `([A-Z]+) ([^`]+)`(?: \\{\"(\\w+)\"\\})? \\|((?: (?:yes|no) \\|){4})$")

type policyRow struct {
	method, path, variant string
	allow                 map[string]bool
}

func (r policyRow) key() string { return r.method + " " + r.path }

func readPolicy(t *testing.T) []policyRow {
	t.Helper()
	f, err := os.Open(policyDoc)
	require.NoError(t, err)
	defer f.Close()
	var rows []policyRow
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "<!-- policy:begin -->":
			in = true
			continue
		case line == "<!-- policy:end -->":
			in = false
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		m := policyRowRE.FindStringSubmatch(line)
		require.NotNil(t, m, "policy row %q is not | `METHOD /path` [{\"variant\"}] | yes/no x4 |", line)
		cells := strings.Fields(strings.ReplaceAll(m[4], "|", " "))
		row := policyRow{method: m[1], path: m[2], variant: m[3], allow: map[string]bool{}}
		for i, role := range policyRoles {
			row.allow[role] = cells[i] == "yes"
		}
		rows = append(rows, row)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows, "no policy table in %s", policyDoc)
	return rows
}

// policyRequest is the request that exercises a row: a real target and a
// body that passes binding where the route needs one.
func policyRequest(row policyRow) request {
	target := row.path
	for from, to := range map[string]string{":name": "redmine", ":action": "stop", ":user": "nobody-here",
		":id": "01HZX0JOB", ":profile": "goroutine"} {
		target = strings.ReplaceAll(target, from, to)
	}
	r := request{method: row.method, target: target, anonymous: true}
	body := ""
	switch row.variant {
	case "":
		if row.method == http.MethodPost && row.path == "/api/v1/installations" {
			body = `{"app":"redmine"}`
		}
	case "reference":
		body = `{"reference":"127.0.0.1:5000/hello:v1"}`
	case "archive":
		body = `{"archive":"hello.tgz"}`
	case "upload":
		body = `{"upload":"0123456789abcdef0123456789abcdef"}`
	case "allow":
		body = `{"app":"redmine","allow":["privileged"]}`
		if strings.HasSuffix(row.path, "/upgrade") {
			body = `{"allow":["privileged"]}`
		}
	case "reveal":
		r.target += "?format=porter&reveal=true"
	}
	if body == "" && row.method != http.MethodGet && row.method != http.MethodDelete {
		body = "{}"
	}
	if body != "" {
		r.body, r.ctype = body, "application/json"
	}
	return r
}

// denied reports whether an answer is a refusal for want of a role (or of
// credentials), as opposed to anything the route itself answers.
func denied(res response) bool {
	if res.status == http.StatusUnauthorized {
		return true
	}
	b := string(res.body)
	return res.status == http.StatusForbidden && (strings.Contains(b, "this needs the") || strings.Contains(b, "only admins"))
}

// TestPolicy walks every route × every role against the written policy in
// docs/security.md.
func TestPolicy(t *testing.T) {
	rows := readPolicy(t)
	users := &memAccounts{memUsers: newMemUsers(), roles: map[string]string{}, settings: map[string]string{}}
	eng := okEngine()
	eng.JobEventsFunc = func(context.Context, string) ([]engine.JobEvent, <-chan engine.JobEvent, func(), error) {
		ch := make(chan engine.JobEvent)
		close(ch)
		return nil, ch, func() {}, nil
	}
	s := New(Config{DataDir: t.TempDir(), BodyLimit: 4096}, eng, users, slog.New(slog.DiscardHandler))
	s.now = func() time.Time { return t0 }
	headers := map[string]map[string]string{"anonymous": nil}
	for _, role := range []string{RoleViewer, RoleOperator, RoleAdmin} {
		require.NoError(t, users.CreateUserWithRole(t.Context(), "as-"+role, "x", role))
		headers[role] = tokenFor(t, users, "as-"+role)
	}

	// Every route has a row, and every row a route.
	routes := map[string]route{}
	for _, r := range s.routes() {
		routes[r.method+" "+r.path] = r
	}
	seen := map[string]bool{}
	for _, row := range rows {
		_, ok := routes[row.key()]
		assert.True(t, ok, "the policy lists %s, which the service does not serve", row.key())
		if row.variant == "" {
			assert.False(t, seen[row.key()], "the policy lists %s twice", row.key())
			seen[row.key()] = true
		}
	}
	for k := range routes {
		assert.True(t, seen[k], "route %s has no row in the policy (%s)", k, policyDoc)
	}
	for k, r := range routes {
		if r.public {
			continue
		}
		for _, row := range rows {
			if row.key() == k && row.variant == "" {
				assert.False(t, row.allow["anonymous"], "%s needs a login but the policy lets anonymous callers in", k)
			}
		}
	}

	for _, row := range rows {
		name := row.key()
		if row.variant != "" {
			name += " " + row.variant
		}
		for _, role := range policyRoles {
			t.Run(name+" as "+role, func(t *testing.T) {
				r := policyRequest(row)
				r.headers = map[string]string{"Accept-Language": "en"}
				for k, v := range headers[role] {
					r.headers[k] = v
				}
				res := do(t, s, r)
				if row.allow[role] {
					assert.False(t, denied(res), "the policy allows it, the service said %d %s", res.status, res.body)
					return
				}
				require.True(t, denied(res), "the policy denies it, the service said %d %s", res.status, res.body)
				if role == "anonymous" {
					assert.Equal(t, http.StatusUnauthorized, res.status)
				} else {
					assert.Equal(t, http.StatusForbidden, res.status)
				}
			})
		}
	}
}

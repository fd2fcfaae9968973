package web_test

import (
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/service/web"
)

func catalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(web.Files(), "i18n/"+lang+".json")
	require.NoError(t, err)
	var m map[string]string
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// sources returns every console file with its text.
func sources(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, fs.WalkDir(web.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := path.Ext(p); ext == ".js" || ext == ".html" || ext == ".css" {
			b, err := fs.ReadFile(web.Files(), p)
			out[p] = string(b)
			return err
		}
		return nil
	}))
	return out
}

// Keys built at run time from a prefix and a value the API or the code
// gives: each listed value must have its message.
var dynamicKeys = map[string][]string{
	"status.":    {"installing", "running", "stopped", "failed", "upgrading", "uninstalling", "uninstalled"},
	"role.":      {"admin", "operator", "viewer"},
	"app.doing.": {"start", "stop", "restart", "upgrade", "uninstall", "backup", "restore"},
	"app.done.":  {"start", "stop", "restart", "upgrade", "uninstall", "backup", "restore", "restoreAs"},
	// An app's domains: the certificate kinds engine/domains.go knows.
	"app.tls.": {"acme", "self-signed", "custom"},
	// How a backup kept the app consistent (engine/backup.go).
	"app.quiesce.": {"stop", "backup"},
	// A backup schedule's source and its last run (engine/backup_schedule.go).
	"app.scheduleSource.": {"installation", "server", "off", "none"},
	"app.scheduleResult.": {"ok", "failed"},
	// The actions an engine reason names (i18n.js REASONS).
	"reason.action.": {"install", "upgrade", "uninstall", "start", "stop", "restart", "backup", "restore"},
	"reason.doing.":  {"installing", "upgrading", "uninstalling"},
	// Swarm nodes as engine/swarm reports them.
	"nodes.role.":             {"manager", "worker"},
	"nodes.stateName.":        {"ready", "down", "disconnected", "unknown"},
	"nodes.availabilityName.": {"active", "pause", "drain"},
	"admin.tab.":              {"users", "tokens", "settings", "audit"},
	"admin.registration.":     {"open", "closed"},
	"lang.":                   {"en", "zh"},
	"server.severity.":        {"critical", "high", "medium", "low"},
	// The kinds of risk engine/host and the engine report (the part of
	// the risk id before the first colon).
	"risk.": {"disk-full", "memory-high", "listen-no-tls", "privileged-container", "docker-socket-mount", "host-root-mount",
		"container-restarting", "container-unhealthy", "db-port-published", "admin-port-published", "default-credentials"},
	"riskWhy.": {"disk-full", "memory-high", "listen-no-tls", "privileged-container", "docker-socket-mount", "host-root-mount",
		"container-restarting", "container-unhealthy", "db-port-published", "admin-port-published", "default-credentials"},
}

// TestCatalogsComplete checks that both languages have every message the
// console asks for, and the same placeholders in each.
func TestCatalogsComplete(t *testing.T) {
	en, zh := catalog(t, "en"), catalog(t, "zh")
	used := map[string]bool{}
	keyRE := regexp.MustCompile(`\bt\("([a-zA-Z0-9_.-]+)"|data-i18n="([^"]+)"|\["(form\.[a-zA-Z]+)"`)
	prefixRE := regexp.MustCompile(`\bt\("([a-zA-Z0-9_.-]+\.)" \+`)
	for p, src := range sources(t) {
		for _, m := range keyRE.FindAllStringSubmatch(src, -1) {
			if k := m[1] + m[2] + m[3]; !strings.HasSuffix(k, ".") {
				used[k] = true
			}
		}
		for _, m := range prefixRE.FindAllStringSubmatch(src, -1) {
			_, ok := dynamicKeys[m[1]]
			// category.* is optional: unknown categories show as they are.
			assert.True(t, ok || m[1] == "category.", "%s builds keys from %q: list its values in dynamicKeys", p, m[1])
		}
	}
	for prefix, values := range dynamicKeys {
		for _, v := range values {
			used[prefix+v] = true
		}
	}
	require.Greater(t, len(used), 200, "the key scan found the console's messages")
	var missing []string
	for k := range used {
		if _, ok := en[k]; !ok {
			missing = append(missing, "en:"+k)
		}
		if _, ok := zh[k]; !ok {
			missing = append(missing, "zh:"+k)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "messages the console uses but a catalog lacks")

	placeholder := regexp.MustCompile(`\{\w+\}`)
	holders := func(s string) string {
		h := placeholder.FindAllString(s, -1)
		sort.Strings(h)
		return strings.Join(h, ",")
	}
	for k, v := range en {
		z, ok := zh[k]
		if !assert.True(t, ok, "zh lacks %s", k) {
			continue
		}
		assert.NotEmpty(t, strings.TrimSpace(v), "en %s is empty", k)
		assert.NotEmpty(t, strings.TrimSpace(z), "zh %s is empty", k)
		assert.Equal(t, holders(v), holders(z), "placeholders of %s", k)
	}
	for k := range zh {
		_, ok := en[k]
		assert.True(t, ok, "en lacks %s", k)
	}
}

// TestModulesResolve checks that every import of every module names a file
// that is there, so no view fails to load for a typo.
func TestModulesResolve(t *testing.T) {
	importRE := regexp.MustCompile(`(?:from|import)\s*\(?\s*"(\.{1,2}/[^"]+)"`)
	files := sources(t)
	n := 0
	for p, src := range files {
		if path.Ext(p) != ".js" {
			continue
		}
		for _, m := range importRE.FindAllStringSubmatch(src, -1) {
			target := path.Join(path.Dir(p), m[1])
			_, ok := files[target]
			assert.True(t, ok, "%s imports %s, which does not exist", p, m[1])
			n++
		}
	}
	assert.Greater(t, n, 20)
}

// TestNoInlineCode keeps the console within its CSP and away from HTML
// injection: no inline script or style, no style attributes, no innerHTML.
func TestNoInlineCode(t *testing.T) {
	for p, src := range sources(t) {
		switch path.Ext(p) {
		case ".html":
			assert.NotRegexp(t, `<script(?:\s[^>]*)?>\s*[^<\s]`, src, "%s has an inline script", p)
			assert.NotContains(t, src, "<style", p)
			assert.NotContains(t, src, " style=", p)
			assert.NotRegexp(t, ` on[a-z]+=`, src, "%s has an inline event handler", p)
		case ".js":
			assert.NotContains(t, src, "innerHTML", p)
			assert.NotContains(t, src, "insertAdjacentHTML", p)
			assert.NotContains(t, src, "eval(", p)
			assert.NotContains(t, src, `setAttribute("style"`, p)
			assert.NotRegexp(t, `https?://`, regexp.MustCompile(`http://www\.w3\.org/2000/svg`).ReplaceAllString(src, ""),
				"%s names another origin", p)
		}
	}
}

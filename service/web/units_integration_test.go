//go:build integration

package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackhub/stackhub/service/web"
)

// TestConsoleUnits runs the unit tests of the console's logic modules
// (testdata/unit/unit.js) in Chromium, against the embedded files.
func TestConsoleUnits(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui/", http.FileServerFS(web.Files())))
	mux.Handle("/unit/", http.StripPrefix("/unit/", http.FileServer(http.Dir("testdata/unit"))))
	mux.HandleFunc("/api/v1/apps", fakeCatalog)
	mux.HandleFunc("/api/v1/apps/{name}/icon", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4" fill="#2a9d8f"/></svg>`)
	})
	fakeCluster(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	p := openPage(t, browser(t), false)
	p.do(30*time.Second, chromedp.Navigate(ts.URL+"/unit/index.html"))
	p.wait(20*time.Second, `window.unitResults`)
	type results struct {
		Passed int      `json:"passed"`
		Failed []string `json:"failed"`
	}
	res := eval[results](p, `window.unitResults`)
	assert.Empty(t, res.Failed)
	require.GreaterOrEqual(t, res.Passed, 18, "every unit test ran")
	t.Logf("%d passed, %d failed", res.Passed, len(res.Failed))
	p.shot("36-store-300-apps")

	// The install form made from every kind of parameter, submitted empty:
	// each field says what it needs.
	p.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0); showInstall()`))
	p.wait(5*time.Second, `document.querySelector("#install-name-err").textContent`)
	assert.Contains(t, eval[string](p, `document.querySelector("#install-name-err").textContent`), "already installed")
	assert.Equal(t, "password", eval[string](p, `document.querySelector("input[name=admin_password]").type`))
	assert.Equal(t, "SELECT", eval[string](p, `document.querySelector("[name=mode]").tagName`))
	p.shot("37-install-form-parameters")

	// The server page of a swarm manager: every node with its state, and
	// for an admin the drain, activate and remove buttons and the join
	// command (the single-server case is in TestConsole).
	p.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector("dialog")?.close(); showNodes()`))
	p.wait(10*time.Second, `document.querySelectorAll("#node-list tbody tr").length === 3`)
	assert.Equal(t, "2 of 3 nodes ready", eval[string](p, `document.querySelector("#nodes p.muted").textContent`))
	assert.Equal(t, "down", eval[string](p, `document.querySelector("[data-node=gpu-1] .node-state").textContent`))
	assert.Equal(t, 0, eval[int](p, `document.querySelectorAll("[data-node=manager-1] [data-remove]").length`), "the leader cannot be removed")
	assert.Equal(t, 1, eval[int](p, `document.querySelectorAll("[data-node=worker-1] [data-availability=active]").length`), "a drained node can be activated")
	p.do(10*time.Second, chromedp.Click("#node-add"))
	p.wait(5*time.Second, `document.querySelector("#join-command")?.textContent.includes("docker swarm join")`)
	p.shot("38-server-node-join")
	p.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector("dialog").close(); document.querySelector("#nodes").scrollIntoView()`))
	p.shot("39-server-nodes")

	// A swarm app's services: where they run, and the one whose data node is down.
	p.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`showSwarmServices()`))
	p.wait(5*time.Second, `document.querySelectorAll("#swarm-services tbody tr").length === 2`)
	assert.Equal(t, "node-1, node-2", eval[string](p, `document.querySelector("[data-service=web] td:nth-child(3)").textContent`))
	assert.Contains(t, eval[string](p, `document.querySelector("[data-service=db]").textContent`), "holding its data is down")
	assert.Equal(t, "node-3", eval[string](p, `document.querySelector("[data-service=db] td:nth-child(4)").textContent`))
	p.shot("40-app-swarm-services")
	p.clean()
}

// fakeCluster answers the server and node routes for a three-node swarm:
// the leading manager, a drained worker and a GPU worker that is down.
func fakeCluster(mux *http.ServeMux) {
	answer := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	mux.HandleFunc("GET /api/v1/server", answer(map[string]any{"hostname": "manager-1", "cpuPercent": 12.5, "memoryPercent": 41,
		"memoryUsed": 3 << 30, "memoryTotal": 8 << 30, "diskPercent": 30, "diskUsed": 30 << 30, "diskTotal": 100 << 30, "load": []float64{0.3, 0.2, 0.1},
		"docker": map[string]any{"version": "20.10.24", "apiVersion": "1.41", "containers": 7, "running": 7, "images": 3,
			"storageDriver": "overlay2", "swarmManager": true}}))
	mux.HandleFunc("GET /api/v1/server/history", answer(map[string]any{"points": []any{}}))
	node := func(id, host, role, state, avail string, leader bool, labels map[string]string, tasks int) map[string]any {
		return map[string]any{"id": id, "hostname": host, "role": role, "leader": leader, "availability": avail, "state": state,
			"addr": "10.0.0." + id, "labels": labels, "cpus": 4, "memoryBytes": 8 << 30, "architecture": "x86_64", "os": "linux",
			"engineVersion": "20.10.24", "tasks": tasks}
	}
	mux.HandleFunc("GET /api/v1/nodes", answer(map[string]any{"nodes": []any{
		node("1", "manager-1", "manager", "ready", "active", true, map[string]string{"ssd": ""}, 5),
		node("2", "worker-1", "worker", "ready", "drain", false, map[string]string{"arch": "amd64"}, 0),
		node("3", "gpu-1", "worker", "down", "active", false, map[string]string{"gpu": "nvidia"}, 2),
	}}))
	mux.HandleFunc("POST /api/v1/nodes/join", answer(map[string]any{"role": "worker", "token": "SWMTKN-1-test", "manager": "10.0.0.1:2377",
		"command": "docker swarm join --token SWMTKN-1-test 10.0.0.1:2377"}))
}

// fakeCatalog answers GET /api/v1/apps for 300 apps in the shape of the
// paging catalog API: q, category, page, per_page; total and categories.
func fakeCatalog(w http.ResponseWriter, r *http.Request) {
	cats := []string{"cms", "database", "developer-tools", "media", "monitoring", "productivity"}
	q := strings.ToLower(r.URL.Query().Get("q"))
	category := r.URL.Query().Get("category")
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	page, per = max(page, 1), max(per, 1)
	type app struct {
		Name         string            `json:"name"`
		Title        string            `json:"title"`
		Titles       map[string]string `json:"titles"`
		Description  string            `json:"description"`
		Descriptions map[string]string `json:"descriptions"`
		Category     string            `json:"category"`
		Version      string            `json:"version"`
		Icon         string            `json:"icon,omitempty"`
	}
	var all []app
	counts := map[string]int{}
	for i := range 300 {
		a := app{Name: fmt.Sprintf("app-%03d", i), Title: fmt.Sprintf("App %d", i),
			Titles:      map[string]string{"en": fmt.Sprintf("App %d", i), "zh": fmt.Sprintf("应用 %d", i)},
			Description: "A sample app of the catalog", Descriptions: map[string]string{"zh": "目录中的示例应用"},
			Category: cats[i%len(cats)], Version: "1.0." + strconv.Itoa(i)}
		if i%2 == 0 {
			a.Icon = "/api/v1/apps/" + a.Name + "/icon"
		}
		counts[a.Category]++
		if category != "" && a.Category != category {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(a.Title), q) {
			continue
		}
		all = append(all, a)
	}
	var catList []map[string]any
	for _, c := range cats {
		catList = append(catList, map[string]any{"name": c, "count": counts[c]})
	}
	from, to := min((page-1)*per, len(all)), min(page*per, len(all))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"apps": all[from:to], "total": len(all), "page": page, "per_page": per, "categories": catList})
}

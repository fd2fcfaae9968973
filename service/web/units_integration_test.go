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
	p.clean()
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

//go:build integration

package web_test

import (
	"net/http"
	"net/http/httptest"
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
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	p := openPage(t, browser(t), false)
	p.do(30*time.Second, chromedp.Navigate(ts.URL+"/unit/index.html"))
	p.wait(20*time.Second, `window.unitResults`)
	var res struct {
		Passed int      `json:"passed"`
		Failed []string `json:"failed"`
	}
	res = eval[struct {
		Passed int      `json:"passed"`
		Failed []string `json:"failed"`
	}](p, `window.unitResults`)
	assert.Empty(t, res.Failed)
	require.GreaterOrEqual(t, res.Passed, 15, "every unit test ran")
	t.Logf("%d passed, %d failed", res.Passed, len(res.Failed))
	p.clean()
}

//go:build integration

package web_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsole walks the console in a real Chromium against a real
// `stackhub serve` on the real Docker Engine, as a new user would: set up
// the admin, log in, find and install hello-db, use it, stop and start it,
// read its logs, uninstall it keeping its data, install it again with the
// keyboard alone and purge it; a failing install, a wrong password,
// Chinese, a phone's width, and the server and administration views.
// Every page is checked for console errors and failed requests and leaves
// a screenshot in out/screens/.
func TestConsole(t *testing.T) {
	srv := startServer(t)
	b := browser(t)
	const password = "console-admin-pw-1"
	const long = 3 * time.Minute
	wrongLogin := allowance{401, regexp.MustCompile(`/api/v1/login$`)}

	// One logged-in tab in the browser's default context; tabs opened
	// later without a fresh context share its session.
	main := openPage(t, b, false)

	t.Run("first run setup", func(t *testing.T) {
		p := main
		p.t = t
		p.do(30*time.Second, chromedp.Navigate(srv.setupURL(t)), chromedp.WaitVisible("#setup-password"))
		p.shot("01-setup")
		p.do(10*time.Second, chromedp.SendKeys("#setup-password", password), chromedp.SendKeys("#setup-again", password),
			chromedp.Click("#setup-submit"))
		p.wait(30*time.Second, `document.querySelectorAll("#store-grid sh-app-card").length >= 3`)
		assert.Equal(t, "/", eval[string](p, "location.pathname"), "the setup link leaves the address bar")
		p.shot("02-store")
		p.clean()
	})

	t.Run("wrong password", func(t *testing.T) {
		p := openPage(t, b, true, wrongLogin)
		p.do(30*time.Second, chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible("#login-password"),
			chromedp.SendKeys("#login-password", "not-the-password"), chromedp.Click("#login-submit"))
		p.wait(20*time.Second, `document.querySelector(".auth [role=alert]")`)
		msg := eval[string](p, `document.querySelector(".auth [role=alert]").innerText`)
		assert.Contains(t, msg, "wrong username or password")
		assert.Contains(t, msg, "STACKHUB_ADMIN_PASSWORD", "the hint says where the password comes from")
		p.shot("03-login-wrong-password")
		p.clean()
	})

	t.Run("find hello-db and install it", func(t *testing.T) {
		p := main
		p.t = t
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/store"), chromedp.WaitVisible("#store-search"),
			chromedp.SendKeys("#store-search", "hello-db"))
		p.wait(10*time.Second, `document.querySelectorAll("#store-grid sh-app-card").length === 1 &&
			document.querySelector("#store-grid sh-app-card").innerText.includes("Hello DB")`)
		p.shot("04-store-search")
		p.do(10*time.Second, chromedp.Click("#store-grid sh-app-card a"), chromedp.WaitVisible("#install-open"))
		assert.Contains(t, p.textNow(), "8080", "the details list the ports the app publishes")
		assert.Contains(t, p.textNow(), "Docker socket", "the details say what the bundle asks of the host")
		p.shot("05-app-details")
		p.do(10*time.Second, chromedp.Click("#install-open"), chromedp.WaitVisible("#install-name"))
		assert.Equal(t, "hello-db", eval[string](p, `document.querySelector("#install-name").value`))
		p.shot("06-install-dialog")
		// The API's own validation text shows in the dialog.
		p.do(5*time.Second, chromedp.SetValue("#install-name", "Bad Name"), chromedp.Click("#install-submit"))
		p.wait(5*time.Second, `document.querySelector("#install-name-err").textContent.length > 0`)
		p.do(5*time.Second, chromedp.SetValue("#install-name", "hello-db"), chromedp.Click("#install-submit"))
		p.wait(10*time.Second, `document.querySelector("#install-progress")`)
		p.shot("07-install-progress")
		p.wait(long, `document.querySelector("#install-result .alert")`)
		require.Contains(t, eval[string](p, `document.querySelector("#install-result").innerText`), "Installed and running",
			"install result: %s\nlog: %s", p.textNow(), eval[string](p, `document.querySelector("#install-log").textContent`))
		// The address and the generated database password follow.
		p.wait(20*time.Second, `document.querySelector("#install-result code.credential")`)
		assert.Len(t, eval[string](p, `document.querySelector("#install-result code.credential").textContent`), 24,
			"the generated database password is shown once")
		p.shot("08-install-done")
		appURL := eval[string](p, `document.querySelector("#install-result a.app-url").href`)
		resp, err := http.Get(appURL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)

		// The app answers in the browser too.
		app := openPage(t, b, false)
		app.do(20*time.Second, chromedp.Navigate(appURL), chromedp.WaitReady("body"))
		assert.Contains(t, app.textNow(), "Hello")
		app.shot("09-app-answers")

		p.do(10*time.Second, chromedp.Click("#install-myapps"))
		p.wait(20*time.Second, `document.querySelector('#apps-list [data-name="hello-db"] sh-status[status="running"]')`)
		p.shot("10-my-apps")
		p.clean()
	})

	t.Run("stop start logs", func(t *testing.T) {
		p := main
		p.t = t
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps/hello-db"), chromedp.WaitVisible("#act-stop"))
		p.wait(10*time.Second, `document.querySelector("#outputs dl")`)
		p.shot("11-app-page")
		p.do(5*time.Second, chromedp.Click("#reveal"))
		// Revealed secrets come with a copy button.
		p.wait(10*time.Second, `document.querySelector("#outputs .secret button")`)
		p.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), chromedp.Click("#act-stop"))
		p.wait(long, `document.querySelector('#app-status[status="stopped"]') && document.querySelector("#act-start:not([disabled])")`)
		p.shot("12-app-stopped")
		p.do(5*time.Second, chromedp.Click("#act-start"))
		p.wait(long, `document.querySelector('#app-status[status="running"]') && document.querySelector("#act-stop:not([disabled])")`)
		// Upgrade, here to the same version: the dialog, then the job.
		p.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), chromedp.Click("#act-upgrade"),
			chromedp.WaitVisible("#upgrade-form"))
		p.shot("12b-upgrade-dialog")
		p.do(5*time.Second, chromedp.Click(`button[form="upgrade-form"]`))
		p.wait(long, `document.querySelector('#app-status[status="running"]') && document.querySelector("#act-stop:not([disabled])") &&
			!document.querySelector("#job-box progress")`)
		assert.Empty(t, eval[string](p, `document.querySelector("#job-error")?.innerText || ""`))
		p.wait(10*time.Second, `document.querySelector("#toasts").innerText.includes("hello-db upgraded") && document.querySelector("#outputs dl")`)
		// A LAN name for the app, added on its page: the proxy serves the
		// app under it with the local CA's certificate; removed the same way.
		p.do(5*time.Second, chromedp.SetValue("#domain-name", "Hello-DB.lan"), chromedp.SetValue("#domain-port", "port"),
			chromedp.Click("#domain-add"))
		p.wait(20*time.Second, `document.querySelector('#domain-list [data-domain="hello-db.lan"]')`)
		assert.Contains(t, eval[string](p, `document.querySelector("#domain-list").innerText`), "Local CA")
		p.shot("12c-app-domain")
		assert.Contains(t, viaProxy(t, srv.proxyHTTPS, "hello-db.lan"), "Hello", "the app answers through the proxy")
		// A name the API refuses shows its reason under the form.
		p.allowed = append(p.allowed, allowance{status: http.StatusBadRequest, url: regexp.MustCompile(`/api/v1/domains$`)})
		p.do(5*time.Second, chromedp.SetValue("#domain-name", "not a name"), chromedp.SendKeys("#domain-name", kb.Enter))
		p.wait(10*time.Second, `document.querySelector("#domain-form .alert")`)
		p.shot("12d-app-domain-refused")
		p.allowed = p.allowed[:len(p.allowed)-1]
		p.do(5*time.Second, chromedp.Click(`[data-remove="hello-db.lan"]`), chromedp.WaitVisible("#domain-remove-yes"),
			chromedp.Click("#domain-remove-yes"))
		p.wait(20*time.Second, `!document.querySelector('#domain-list [data-domain]') && document.querySelector("#domains").innerText.length > 0`)
		// The login gate's box: the domain lists it as gated.
		p.do(5*time.Second, chromedp.SetValue("#domain-name", "gated.lan"), chromedp.SetValue("#domain-port", "port"),
			chromedp.Click("#domain-login"), chromedp.SendKeys("#domain-name", kb.Enter))
		p.wait(20*time.Second, `document.querySelector('#domain-list [data-domain="gated.lan"] [data-login]')`)
		p.shot("12e-app-domain-login")
		p.do(5*time.Second, chromedp.Click(`[data-remove="gated.lan"]`), chromedp.WaitVisible("#domain-remove-yes"),
			chromedp.Click("#domain-remove-yes"))
		p.wait(20*time.Second, `!document.querySelector('#domain-list [data-domain]') && document.querySelector("#domains").innerText.length > 0`)
		// Back up now, then restore that backup in place: both run as jobs
		// and the app is running again after each.
		p.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), chromedp.Click("#tabbtn-backups"),
			chromedp.WaitVisible("#backup-now"))
		p.wait(10*time.Second, `document.querySelector("#no-backups")`)
		p.do(5*time.Second, chromedp.Click("#backup-now"))
		p.wait(long, `document.querySelectorAll("#backup-list tbody tr").length === 1 && !document.querySelector("#job-box progress")`)
		assert.Empty(t, eval[string](p, `document.querySelector("#job-error")?.innerText || ""`))
		p.shot("12e-app-backups")
		// The app's own schedule: set, shown, then dropped again.
		p.do(5*time.Second, chromedp.WaitVisible("#schedule-cron"), chromedp.SetValue("#schedule-cron", "0 3 * * *"),
			chromedp.SetValue("#schedule-keepLast", "7"), chromedp.Click("#schedule-save"))
		p.wait(10*time.Second, `document.querySelector("#schedule-facts").innerText.includes("0 3 * * *") && !document.querySelector("#schedule-default").disabled`)
		p.shot("12e-app-backup-schedule")
		p.do(5*time.Second, chromedp.Click("#schedule-default"))
		p.wait(10*time.Second, `document.querySelector("#schedule-default").disabled`)
		p.do(5*time.Second, chromedp.Click("#backup-list [data-restore]"), chromedp.WaitVisible("#restore-form"))
		p.shot("12f-restore-dialog")
		p.do(5*time.Second, chromedp.Click("#restore-go"))
		p.wait(long, `document.querySelector("#toasts").innerText.includes("hello-db restored") &&
			document.querySelector('#app-status[status="running"]') && !document.querySelector("#job-box progress")`)
		assert.Empty(t, eval[string](p, `document.querySelector("#job-error")?.innerText || ""`))
		p.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), chromedp.Click("#tabbtn-logs"))
		p.wait(20*time.Second, `document.querySelector("#log-text").textContent.trim().length > 0`)
		p.shot("13-app-logs")
		// Follow keeps the stream open and shows new lines; stopping it is a cancel, not an error.
		p.do(5*time.Second, chromedp.Click("#log-follow"))
		p.wait(20*time.Second, `document.querySelector("#log-text").textContent.trim().length > 0`)
		p.clean()
	})

	t.Run("uninstall keeping data", func(t *testing.T) {
		p := main
		p.t = t
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps/hello-db"), chromedp.WaitVisible("#act-uninstall"),
			chromedp.Click("#act-uninstall"), chromedp.WaitVisible("#uninstall-confirm"))
		assert.True(t, eval[bool](p, `document.querySelector("#data-keep").checked`), "keeping the data is the default")
		p.shot("14-uninstall-dialog")
		p.do(5*time.Second, chromedp.Click("#uninstall-confirm"))
		p.wait(long, `location.hash === "#/apps" && document.querySelector("#apps-list .empty")`)
		p.shot("15-uninstalled")
		assert.NotEmpty(t, srv.volumes(t), "the app's data volumes are kept")
		p.clean()
	})

	t.Run("keyboard-only install and purge", func(t *testing.T) {
		p := main
		p.t = t
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/store"), chromedp.WaitVisible("#store-search"))
		// From the search box: type, Tab to the first card, Enter.
		p.do(10*time.Second, chromedp.Focus("#store-search"), chromedp.KeyEvent("hello-db"))
		p.wait(10*time.Second, `document.querySelectorAll("#store-grid sh-app-card").length === 1`)
		tabTo(t, p, `document.activeElement.matches("#store-grid sh-app-card a")`)
		p.do(5*time.Second, pressEnter())
		p.wait(10*time.Second, `document.activeElement && document.activeElement.id === "install-open"`)
		p.do(5*time.Second, pressEnter())
		p.wait(10*time.Second, `document.activeElement && document.activeElement.id === "install-name"`)
		p.shot("16-keyboard-install")
		p.do(5*time.Second, pressEnter())
		p.wait(long, `document.querySelector("#install-result .alert")`)
		require.Contains(t, eval[string](p, `document.querySelector("#install-result").innerText`), "Installed and running")
		p.wait(5*time.Second, `document.activeElement && document.activeElement.id === "install-myapps"`)
		p.do(5*time.Second, pressEnter())
		p.wait(20*time.Second, `document.querySelector('#apps-list [data-name="hello-db"] sh-status[status="running"]')`)

		// Purge: deleting data needs the app's name typed.
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps/hello-db"), chromedp.WaitVisible("#act-uninstall"),
			chromedp.Click("#act-uninstall"), chromedp.WaitVisible("#data-delete"), chromedp.Click("#data-delete"))
		assert.True(t, eval[bool](p, `document.querySelector("#uninstall-confirm").disabled`), "not before the name is typed")
		p.do(5*time.Second, chromedp.SendKeys("#confirm-name", "hello-db"))
		p.shot("17-purge-confirm")
		p.do(5*time.Second, chromedp.Click("#uninstall-confirm"))
		p.wait(long, `location.hash === "#/apps" && document.querySelector("#apps-list .empty")`)
		assert.Empty(t, srv.volumes(t), "purge deleted the data volumes")
		p.clean()
	})

	t.Run("failing install", func(t *testing.T) {
		p := main
		p.t = t
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/store/hello-broken"), chromedp.WaitVisible("#install-open"),
			chromedp.Click("#install-open"), chromedp.WaitVisible("#install-name"), chromedp.Click("#install-submit"))
		p.wait(long, `document.querySelector("#install-error")`)
		p.wait(10*time.Second, `document.querySelector("#install-clean") || document.querySelector("#install-result p")`)
		reason := eval[string](p, `document.querySelector("#install-result").innerText`)
		assert.Contains(t, reason, "install failed")
		p.shot("18-install-failed")
		p.clean()
	})

	t.Run("server and administration", func(t *testing.T) {
		p := main
		p.t = t
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/server"), chromedp.WaitVisible("#stat-cpu"))
		p.wait(10*time.Second, `document.querySelector("#docker dl")`)
		// This host is no swarm manager: the page says so and how to start one.
		p.wait(10*time.Second, `document.querySelector("#nodes-single, #node-list")`)
		p.shot("19-server")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/admin/tokens"), chromedp.WaitVisible("#token-name"),
			chromedp.SendKeys("#token-name", "ci"), chromedp.Click("#token-create"))
		p.wait(10*time.Second, `document.querySelector("#new-token code")`)
		assert.True(t, strings.HasPrefix(eval[string](p, `document.querySelector("#new-token code").textContent`), "shk_"))
		p.shot("20-admin-tokens")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/admin/users"), chromedp.WaitVisible("#new-user"),
			chromedp.SendKeys("#new-user", "alice"), chromedp.SendKeys("#new-pass", "alice-password-1"), chromedp.Click("#user-add"))
		p.wait(10*time.Second, `document.querySelector("#admin-users")?.innerText.includes("alice")`)
		p.do(5*time.Second, choose(`select[aria-label="Role of alice"]`, "operator"))
		p.wait(10*time.Second, `document.querySelector("#toasts").innerText.includes("alice is now Operator")`)
		p.shot("21-admin-users")
		// A click dismisses a toast before its time.
		assert.True(t, eval[bool](p, `(() => { const el = [...document.querySelectorAll("#toasts .toast")].find(e => e.textContent.includes("alice is now Operator")); el?.click(); return !!el; })()`))
		assert.False(t, eval[bool](p, `document.querySelector("#toasts").innerText.includes("alice is now Operator")`))
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/admin/settings"), chromedp.WaitVisible("#set-registration"))
		assert.Contains(t, eval[string](p, `document.querySelector("#port-range").textContent`), "19501")
		p.shot("22-admin-settings")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/admin/audit"))
		p.wait(10*time.Second, `document.querySelector("#admin-audit")?.innerText.includes("install")`)
		p.shot("23-admin-audit")
		p.clean()
	})

	t.Run("phone width", func(t *testing.T) {
		p := openPage(t, b, false)
		p.do(10*time.Second, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Navigate(srv.url+"/#/store"))
		p.wait(10*time.Second, `document.querySelectorAll("#store-grid sh-app-card").length >= 3`)
		fits := `document.documentElement.scrollWidth <= window.innerWidth`
		assert.True(t, eval[bool](p, fits), "the store fits 360 px")
		p.shot("24-phone-store")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/store/hello"), chromedp.WaitVisible("#install-open"),
			chromedp.Click("#install-open"), chromedp.WaitVisible("#install-name"))
		assert.True(t, eval[bool](p, fits), "the install dialog fits 360 px")
		p.shot("25-phone-install")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps"))
		p.wait(10*time.Second, `document.querySelector("#apps-list > *")`)
		assert.True(t, eval[bool](p, fits), "my apps fits 360 px")
		p.shot("26-phone-apps")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/server"), chromedp.WaitVisible("#stat-cpu"))
		assert.True(t, eval[bool](p, fits), "the server view fits 360 px")
		p.shot("27-phone-server")
		p.clean()
	})

	t.Run("dark theme", func(t *testing.T) {
		p := openPage(t, b, false)
		_, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		require.NoError(t, err)
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/store"))
		p.wait(10*time.Second, `document.querySelectorAll("#store-grid sh-app-card").length >= 3`)
		assert.Equal(t, "rgb(15, 20, 28)", eval[string](p, `getComputedStyle(document.body).backgroundColor`), "the dark theme follows the system")
		p.shot("33-dark-store")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps"))
		p.wait(10*time.Second, `document.querySelector("#apps-list > *")`)
		p.shot("34-dark-apps")
		p.clean()
	})

	t.Run("chinese", func(t *testing.T) {
		p := openPage(t, b, true, wrongLogin)
		p.do(30*time.Second, chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible("#auth-lang"),
			choose("#auth-lang", "zh"))
		p.wait(10*time.Second, `document.querySelector("#login-submit").textContent === "登录"`)
		p.do(10*time.Second, chromedp.SendKeys("#login-password", "wrong-password"), chromedp.Click("#login-submit"))
		p.wait(20*time.Second, `document.querySelector(".auth [role=alert]")`)
		assert.Contains(t, eval[string](p, `document.querySelector(".auth [role=alert]").innerText`), "用户名或密码错误",
			"the API answers in the language the page speaks")
		p.shot("28-zh-login-wrong")
		p.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector("#login-password").value = ""`),
			chromedp.SendKeys("#login-password", password),
			chromedp.Click("#login-submit"))
		p.wait(20*time.Second, `document.querySelectorAll("#store-grid sh-app-card").length >= 3`)
		assert.Contains(t, p.textNow(), "应用商店")
		p.shot("29-zh-store")
		// Keep the choice for this user: the header's switch saves it.
		p.do(10*time.Second, choose("#lang-select", "zh"))
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps"))
		p.wait(10*time.Second, `document.querySelector("#apps-list sh-status")`)
		assert.Contains(t, p.textNow(), "我的应用")
		p.shot("30-zh-apps")
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/server"), chromedp.WaitVisible("#stat-cpu"))
		p.shot("31-zh-server")
		p.clean()

		// A new browser, same user: the console comes up in Chinese.
		q := openPage(t, b, true)
		q.do(30*time.Second, chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible("#login-password"),
			chromedp.SendKeys("#login-password", password), chromedp.Click("#login-submit"))
		q.wait(20*time.Second, `document.querySelector("#nav a").textContent === "应用商店"`)
		q.clean()
	})

	t.Run("expired session goes back to login", func(t *testing.T) {
		p := main
		p.t = t
		// The session ends (here: logged out from another tab); the next
		// request answers 401 and the page shows the login with a note.
		p.allowed = append(p.allowed, allowance{401, regexp.MustCompile(`/api/v1/`)})
		other := openPage(t, b, false)
		other.do(10*time.Second, chromedp.Navigate(srv.url+"/#/store"), chromedp.WaitVisible("#logout"), chromedp.Click("#logout"))
		other.wait(10*time.Second, `document.querySelector("#login-password")`)
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/apps"))
		p.wait(20*time.Second, `document.querySelector("#login-password")`)
		p.shot("32-session-ended")
		p.clean()
	})

	// Last, as it ends the server: a lost connection is said, and retried.
	t.Run("lost connection", func(t *testing.T) {
		// The session above ended: log in afresh.
		p := openPage(t, b, true)
		p.do(30*time.Second, chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible("#login-password"),
			chromedp.SendKeys("#login-password", password), chromedp.Click("#login-submit"))
		p.wait(20*time.Second, `document.querySelector("#store-grid sh-app-card")`)
		p.do(10*time.Second, chromedp.Navigate(srv.url+"/#/server"), chromedp.WaitVisible("#stat-cpu"))
		srv.stop()
		p.wait(40*time.Second, `!document.querySelector("#conn").hidden`)
		// In the language this user chose above.
		assert.Contains(t, eval[string](p, `document.querySelector("#conn").textContent`), "重试")
		p.shot("35-connection-lost")
		// The failed requests are the point here; nothing else may fail.
		p.mu.Lock()
		for _, problem := range p.problems {
			assert.Contains(t, problem, "ERR_CONNECTION_REFUSED")
		}
		p.problems = nil
		p.mu.Unlock()
	})
}

// choose picks a value of a <select> as a user does: it changes, and says so.
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector(%q);
		s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value))
}

// tabTo presses Tab until the expression holds (at most 40 times).
// pressEnter presses Enter as a keyboard does: keydown and keypress in
// one event, then keyup. chromedp.KeyEvent sends the keypress as a command
// of its own, and a view drawn in between takes it: Enter on a store card
// navigates on keydown, and the app page's focused Install button then got
// the keypress and opened the install dialog (seen under load).
func pressEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var down, up *input.DispatchKeyEventParams
		for _, k := range kb.Encode('\r') {
			switch k.Type {
			case kb.KeyDown:
				down = k
			case kb.KeyChar:
				down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
			case kb.KeyUp:
				up = k
			}
		}
		for _, k := range []*input.DispatchKeyEventParams{down, up} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *k); err != nil {
				return err
			}
		}
		return nil
	})
}

func tabTo(t *testing.T, p *tab, expr string) {
	t.Helper()
	for range 40 {
		if eval[bool](p, expr) {
			return
		}
		p.do(5*time.Second, chromedp.KeyEvent(kb.Tab))
	}
	t.Fatalf("Tab never reached %s", expr)
}

// viaProxy fetches https://host/ through the proxy at addr, retrying while
// the proxy picks the new route up, and returns the body.
func viaProxy(t *testing.T, addr, host string) string {
	t.Helper()
	// The local CA is the server's own; what is checked here is routing.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{ServerName: host, InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+addr+"/", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(body)
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("https://%s through the proxy: %v", host, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

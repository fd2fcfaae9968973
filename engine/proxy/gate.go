package proxy

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine"
)

// GateConfig configures the login gate of domains added with Login.
type GateConfig struct {
	// Key signs and checks gate passes; the service signs with the same.
	Key []byte
	// LoginURL is the service's gate route as the browser reaches it
	// (https://CONSOLE-DOMAIN/api/v1/gate): a request without a valid
	// cookie is sent there with ?rd=<the URL it asked for>. Empty: the
	// gated domains answer 503 (the gate fails closed).
	LoginURL string
	// PassActive says whether a pass's holder still may pass: its console
	// session (engine.GatePass.Session) has not ended, or, for a pass
	// without one, its user still exists. nil: every signed pass is good
	// until it expires. The proxy asks it again at most every UserRecheck
	// for each pass, so a user who logs out or is removed loses access
	// within that time, not at the cookie's end.
	PassActive func(ctx context.Context, user, session string) (bool, error)
	// UserRecheck is how long an answer of PassActive is kept (default
	// 30s).
	UserRecheck time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// gateUsers keeps PassActive's recent answers, by user and session.
type gateUsers struct {
	mu      sync.Mutex
	checked map[string]gateUserCheck
}

type gateUserCheck struct {
	active bool
	at     time.Time
}

// passActive asks GateConfig.PassActive, at most every UserRecheck per
// user and session. An error counts as not active (the gate fails closed)
// and is not kept.
func (p *Proxy) passActive(ctx context.Context, pass engine.GatePass) bool {
	g := p.cfg.Gate
	if g.PassActive == nil {
		return true
	}
	key := pass.User + "\x00" + pass.Session
	recheck := g.UserRecheck
	if recheck <= 0 {
		recheck = 30 * time.Second
	}
	now := p.now()
	p.gateUsers.mu.Lock()
	c, ok := p.gateUsers.checked[key]
	p.gateUsers.mu.Unlock()
	if ok && now.Sub(c.at) < recheck && !now.Before(c.at) {
		return c.active
	}
	active, err := g.PassActive(ctx, pass.User, pass.Session)
	if err != nil {
		p.log.Warn("login gate could not check a user; refusing", "user", pass.User, "err", err)
		return false
	}
	p.gateUsers.mu.Lock()
	defer p.gateUsers.mu.Unlock()
	if p.gateUsers.checked == nil || len(p.gateUsers.checked) > 10000 {
		p.gateUsers.checked = map[string]gateUserCheck{}
	}
	p.gateUsers.checked[key] = gateUserCheck{active: active, at: now}
	return active
}

// gatePath is where the service sends the browser back with a ticket;
// the proxy answers it on every gated host and never passes it on.
const gatePath = "/.stackhub/gate"

// gateCookie is the proxy's cookie on a gated host.
const gateCookie = "stackhub_gate"

func (p *Proxy) now() time.Time {
	if p.cfg.Gate.Now != nil {
		return p.cfg.Gate.Now()
	}
	return time.Now()
}

// gate answers a request to a gated route unless it carries a valid
// cookie, in which case it returns true (and strips the cookie, which the
// app has no business seeing).
func (p *Proxy) gate(w http.ResponseWriter, r *http.Request, rt engine.Route) bool {
	g := p.cfg.Gate
	if len(g.Key) == 0 || g.LoginURL == "" {
		page(w, http.StatusServiceUnavailable, "Login not available",
			"The app behind "+rt.Domain+" is reached only after logging in to StackHub, and this server's console has no address to log in at.",
			"An administrator starts `stackhub serve` with --console-domain or --console-url, or removes the login from the domain.")
		return false
	}
	host := hostOnly(r.Host)
	if r.URL.Path == gatePath {
		p.exchange(w, r, rt, host)
		return false
	}
	if c, err := r.Cookie(gateCookie); err == nil {
		pass, err := engine.VerifyGatePass(g.Key, c.Value, engine.GatePassCookie, rt.Domain, p.now())
		switch {
		case err != nil:
			p.log.Debug("login gate refused a cookie", "host", host, "err", err)
		case !p.passActive(r.Context(), pass):
			p.log.Info("login gate refused the cookie of a user who logged out or may no longer pass", "host", host, "user", pass.User)
		default:
			stripCookie(r, gateCookie)
			return true
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		page(w, http.StatusUnauthorized, "Login required",
			"The app behind "+rt.Domain+" is reached only after logging in to StackHub.", "Open the page again in the browser to log in.")
		return false
	}
	back := "https://" + r.Host + r.URL.RequestURI()
	http.Redirect(w, r, g.LoginURL+"?rd="+url.QueryEscape(back), http.StatusSeeOther)
	return false
}

// exchange turns the service's ticket into the proxy's cookie for this
// host, then sends the browser on to the page it asked for.
func (p *Proxy) exchange(w http.ResponseWriter, r *http.Request, rt engine.Route, host string) {
	q := r.URL.Query()
	pass, err := engine.VerifyGatePass(p.cfg.Gate.Key, q.Get("ticket"), engine.GatePassTicket, rt.Domain, p.now())
	if err == nil && !p.passActive(r.Context(), pass) {
		err = engine.ErrGatePass
	}
	if err != nil {
		p.log.Info("login gate refused a ticket", "host", host, "err", err)
		page(w, http.StatusForbidden, "Login refused", "The login ticket for "+rt.Domain+" is not valid or has expired.", "Open the app's address again to log in anew.")
		return
	}
	exp := p.now().Add(engine.GateCookieTTL)
	cookie := engine.SignGatePass(p.cfg.Gate.Key, engine.GatePass{Kind: engine.GatePassCookie, User: pass.User, Host: rt.Domain, Expires: exp.Unix(), Session: pass.Session})
	http.SetCookie(w, &http.Cookie{
		Name: gateCookie, Value: cookie, Path: "/", Expires: exp,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	rd := q.Get("rd")
	// Only a path on this host: never an open redirect.
	if !strings.HasPrefix(rd, "/") || strings.HasPrefix(rd, "//") || strings.HasPrefix(rd, "/\\") || strings.HasPrefix(rd, gatePath) {
		rd = "/"
	}
	http.Redirect(w, r, rd, http.StatusSeeOther)
}

// stripCookie removes one cookie from a request's Cookie headers.
func stripCookie(r *http.Request, name string) {
	cs := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cs {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}

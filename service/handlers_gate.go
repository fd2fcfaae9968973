package service

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

// gateRoute is where the proxy's login gate sends a browser that holds no
// pass for a gated domain.
const gateRoute = "/api/v1/gate"

// gatePath is the proxy's path on a gated host that takes a ticket.
const gatePath = "/.stackhub/gate"

// gate hands a logged-in user (viewer or above) a one-minute ticket for
// the gated domain of ?rd=URL and sends the browser back there: 303 to
// https://DOMAIN/.stackhub/gate?ticket=...&rd=PATH, where the proxy
// exchanges it for a cookie of that host. rd must be an https URL of a
// domain added with login (never an open redirect).
func (s *Server) gate(c *fiber.Ctx) error {
	if len(s.cfg.GateKey) == 0 {
		return engine.NewUserError(engine.ErrUnavailable, "the login gate is not set up on this server",
			"the reverse proxy of `stackhub serve` serves gated domains; it is off here")
	}
	rd, err := url.Parse(c.Query("rd"))
	if err != nil || rd.Scheme != "https" || rd.Host == "" || rd.User != nil {
		return engine.NewUserError(engine.ErrInvalid, "rd must be the https address of an app behind the login gate", "open the app's address again")
	}
	host := rd.Hostname()
	list, err := s.eng.Domains(c.UserContext())
	if err != nil {
		return err
	}
	gated := false
	for _, d := range list {
		if d.Name == host && d.Login {
			gated = true
		}
	}
	if !gated {
		return engine.NewUserError(engine.ErrNotFound, "no domain "+host+" with a login gate", "see the domains with `stackhub domain list`")
	}
	user, _ := c.Locals(localUser).(string)
	// The pass holds while this console session does: logging out ends
	// the app's access too (the proxy checks it every 30 s).
	session, _ := c.Locals(localSessionHash).(string)
	ticket := engine.SignGatePass(s.cfg.GateKey, engine.GatePass{
		Kind: engine.GatePassTicket, User: user, Host: host, Expires: s.now().Add(engine.GateTicketTTL).Unix(),
		Session: session,
	})
	path := rd.EscapedPath()
	if path == "" {
		path = "/"
	}
	if rd.RawQuery != "" {
		path += "?" + rd.RawQuery
	}
	back := url.URL{Scheme: "https", Host: rd.Host, Path: gatePath, RawQuery: url.Values{"ticket": {ticket}, "rd": {path}}.Encode()}
	s.audit(c, "gate-pass", host, "")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(back.String(), fiber.StatusSeeOther)
}

// toLogin wraps authentication: a browser (it asks for text/html, and
// sends no Authorization) without a valid session is sent to the
// console's login page, which comes back to this URL after logging in;
// API callers get the 401 as everywhere.
func (s *Server) toLogin(auth fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := auth(c)
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || !errors.Is(ae.kind, errUnauthenticated) ||
			c.Get(fiber.HeaderAuthorization) != "" || !strings.Contains(c.Get(fiber.HeaderAccept), "text/html") {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Redirect("/?next="+url.QueryEscape(c.OriginalURL())+"#/login", fiber.StatusSeeOther)
	}
}

package service

import (
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

var (
	errTextCredsRequired = text{"用户名和密码不能为空", "username and password are required"}
	hintCredsRequired    = text{`请发送 {"username":"admin","password":"..."}`, `send {"username":"admin","password":"..."}`}
	errTextTokenName     = text{"令牌名称%q不合法", "token name %q is not valid"}
)

// health answers {"status":"ok"} without authentication.
func (s *Server) health(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

type loginResponse struct {
	Username  string    `json:"username"`
	CSRFToken string    `json:"csrfToken"`
	Expires   time.Time `json:"expires"`
}

// login checks a username and password (JSON or form body) and starts a
// session: an HttpOnly, SameSite=Strict cookie holding a random 32-byte id
// (stored hashed), and a CSRF token to send back in X-CSRF-Token on
// requests that change state. Failures slow further tries (see loginLimiter).
func (s *Server) login(c *fiber.Ctx) error {
	in, err := bindStrings(c, false, "username", "password")
	if err != nil {
		return err
	}
	user, password := in["username"], in["password"]
	if user == "" || password == "" {
		return &apiError{kind: engine.ErrInvalid, msg: errTextCredsRequired, hint: hintCredsRequired}
	}
	now := s.now()
	// Failures count against this user at this address, and against the
	// address: never against the user from everywhere, so that guesses from
	// elsewhere cannot keep the owner out.
	ip := s.clientIP(c)
	pairKey, ipKey := "user:"+user+"@"+ip, "ip:"+ip
	if wait := max(s.limiter.wait(now, pairKey), s.ipLimiter.wait(now, ipKey)); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(secs))
		return &apiError{kind: errRateLimited, msg: errTextRateLimited, hint: hintRateLimited, hintArgs: []any{secs}}
	}
	ctx := c.UserContext()
	hash, err := s.users.PasswordHash(ctx, user)
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("log in %q: %w", user, err)
	}
	known := err == nil
	if !known {
		hash = dummyHash()
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return fmt.Errorf("log in %q: %w", user, err)
	}
	if !ok || !known {
		s.limiter.fail(now, pairKey)
		s.ipLimiter.fail(now, ipKey)
		s.log.Warn("failed login", "username", user, "ip", ip, "requestId", requestIDOf(c))
		return &apiError{kind: errUnauthenticated, msg: errTextLoginFailed, hint: hintLoginFailed}
	}
	s.limiter.reset(pairKey)

	id, csrf := randomSecret(32), randomSecret(32)
	expires := now.Add(s.cfg.SessionTTL)
	if err := s.users.CreateSession(ctx, hashSecret(id), user, hashSecret(csrf), expires); err != nil {
		return fmt.Errorf("log in %q: %w", user, err)
	}
	c.Cookie(&fiber.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		Expires:  expires,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode,
		Secure:   s.cfg.SecureCookies || c.Protocol() == "https",
	})
	s.log.Info("logged in", "username", user, "ip", ip)
	return c.JSON(loginResponse{Username: user, CSRFToken: csrf, Expires: expires.UTC()})
}

// logout ends the caller's session, if it has one, and clears the cookie.
func (s *Server) logout(c *fiber.Ctx) error {
	if h, ok := c.Locals(localSessionHash).(string); ok {
		if err := s.users.DeleteSession(c.UserContext(), h); err != nil {
			return fmt.Errorf("log out: %w", err)
		}
	}
	c.Cookie(&fiber.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		Expires:  time.Unix(0, 0),
		MaxAge:   -1,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode,
		Secure:   s.cfg.SecureCookies || c.Protocol() == "https",
	})
	return c.JSON(fiber.Map{"status": "ok", "message": msgLoggedOut.in(langOf(c, s.apiLang()))})
}

type tokenResponse struct {
	Token string `json:"token"`
	Name  string `json:"name"`
	User  string `json:"user"`
	Note  string `json:"note"`
}

// createToken makes an API token for the caller, shk_<random>, shown once
// and stored hashed. Body (optional): {"name":"ci"}.
func (s *Server) createToken(c *fiber.Ctx) error {
	in, err := bindStrings(c, false, "name")
	if err != nil {
		return err
	}
	name := in["name"]
	if !plainID(name) && name != "" {
		return &apiError{kind: engine.ErrInvalid, msg: errTextTokenName, msgArgs: []any{name}, hint: hintNameBad}
	}
	user, _ := c.Locals(localUser).(string)
	token := "shk_" + randomSecret(32)
	if err := s.users.CreateToken(c.UserContext(), hashSecret(token), user, name); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	s.log.Info("created an API token", "username", user, "name", name)
	return c.Status(fiber.StatusCreated).JSON(tokenResponse{
		Token: token, Name: name, User: user, Note: msgTokenShownOnce.in(langOf(c, s.apiLang())),
	})
}

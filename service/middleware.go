package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

// Request and response headers and cookies the middleware uses.
const (
	headerRequestID = "X-Request-ID"
	headerCSRF      = "X-CSRF-Token"
	sessionCookie   = "stackhub_session"
)

type localKey int

const (
	localRequestID localKey = iota
	localUser
	localSessionHash
	localRole
	localBootstrap
)

// requestID takes the caller's X-Request-ID when it is short and plain,
// else makes one, and echoes it in the response.
func (s *Server) requestID(c *fiber.Ctx) error {
	s.lastRequest.Store(time.Now().UnixNano())
	id := c.Get(headerRequestID)
	if !plainID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// requestIDOf returns the request's id, or "" before requestID ran (for
// errors fasthttp raises while reading the request).
func requestIDOf(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// recoverPanic turns a handler panic into a 500, logging the stack.
func (s *Server) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "requestId", requestIDOf(c), "path", c.Path(), "panic", r,
				"stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.Next()
}

// bodyLimit answers 413 to bodies over Config.BodyLimit. (fasthttp's own
// limit, set higher, closes the connection with a bare answer instead.)
// Archive uploads stream past it; their handler enforces UploadLimit.
func (s *Server) bodyLimit(c *fiber.Ctx) error {
	if c.Path() == uploadRoute && c.Method() == fiber.MethodPost {
		return c.Next()
	}
	if int(c.Request().Header.ContentLength()) > s.cfg.BodyLimit {
		// The connection cannot carry another request. Read (and drop) a
		// bounded rest first: closing on a client still writing resets
		// the connection, and it would never see the 413.
		drainBody(c)
		c.Context().SetConnectionClose()
		return fiber.ErrRequestEntityTooLarge
	}
	if stream := c.Context().RequestBodyStream(); stream != nil {
		// Read at most one byte past the limit, never the whole stream.
		data, err := io.ReadAll(io.LimitReader(stream, int64(s.cfg.BodyLimit)+1))
		if err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
		if len(data) > s.cfg.BodyLimit {
			drainBody(c)
			c.Context().SetConnectionClose()
			return fiber.ErrRequestEntityTooLarge
		}
		c.Request().SetBody(data)
		return c.Next()
	}
	if len(c.Body()) > s.cfg.BodyLimit {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// drainMax bounds how much of a refused body is read and dropped so that
// the client gets to read the answer; a larger body is cut off.
const drainMax = 4 << 20

// drainBody reads and drops up to drainMax bytes of the request's body
// stream.
func drainBody(c *fiber.Ctx) {
	if stream := c.Context().RequestBodyStream(); stream != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(stream, drainMax))
	}
}

// drainRest reads the rest of the request's body stream, at most
// drainMax bytes, and tells whether it reached the end.
func drainRest(c *fiber.Ctx) bool {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return true
	}
	n, err := io.Copy(io.Discard, io.LimitReader(stream, drainMax+1))
	return err == nil && n <= drainMax
}

// userContext gives the handler a context derived from the server's base
// context with the request timeout, so engine calls stop when the server
// shuts down or the request overstays (fiber's default UserContext is a
// never-cancelled Background).
func (s *Server) userContext(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(*s.base.Load(), s.cfg.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// authenticate admits a request carrying a valid API token
// (Authorization: Bearer) or session cookie. Cookie-authenticated requests
// to routes that change state, or by unsafe methods, must also carry the
// session's CSRF token in X-CSRF-Token.
func (s *Server) authenticate(r route) fiber.Handler {
	needCSRF := r.mutates || !(r.method == fiber.MethodGet || r.method == fiber.MethodHead)
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		if header := c.Get(fiber.HeaderAuthorization); header != "" {
			scheme, token, _ := strings.Cut(header, " ")
			token = strings.TrimSpace(token)
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				return unauthenticated(nil)
			}
			user, err := s.tokenUser(ctx, token)
			if err != nil {
				return err
			}
			c.Locals(localUser, user)
			if s.bootstrapHash != "" && hashSecret(token) == s.bootstrapHash {
				c.Locals(localBootstrap, true)
			}
			if err := s.authorize(c, r); err != nil {
				return err
			}
			return c.Next()
		}
		cookie := c.Cookies(sessionCookie)
		if cookie == "" {
			return unauthenticated(nil)
		}
		idHash := hashSecret(cookie)
		user, csrfHash, err := s.users.SessionUser(ctx, idHash, s.now())
		if errors.Is(err, engine.ErrNotFound) {
			return unauthenticated(err)
		}
		if err != nil {
			return fmt.Errorf("check session: %w", err)
		}
		if needCSRF {
			sent := c.Get(headerCSRF)
			if sent == "" || subtle.ConstantTimeCompare([]byte(hashSecret(sent)), []byte(csrfHash)) != 1 {
				return &apiError{kind: errForbidden, msg: errTextCSRF, hint: hintCSRF}
			}
		}
		c.Locals(localUser, user)
		c.Locals(localSessionHash, idHash)
		if err := s.authorize(c, r); err != nil {
			return err
		}
		return c.Next()
	}
}

// tokenUser returns the user an API token belongs to: the bootstrap token
// is the admin's.
func (s *Server) tokenUser(ctx context.Context, token string) (string, error) {
	h := hashSecret(token)
	if s.bootstrapHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(s.bootstrapHash)) == 1 {
		return adminUser, nil
	}
	user, err := s.users.TokenUser(ctx, h)
	if errors.Is(err, engine.ErrNotFound) {
		return "", unauthenticated(err)
	}
	if err != nil {
		return "", fmt.Errorf("check token: %w", err)
	}
	return user, nil
}

func unauthenticated(cause error) error {
	return &apiError{kind: errUnauthenticated, msg: errTextUnauth, hint: hintUnauth, cause: cause}
}

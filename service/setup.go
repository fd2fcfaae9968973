package service

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
)

// setupTTL is how long a setup link stays valid.
const setupTTL = time.Hour

// minPasswordLength is the shortest admin password setup accepts.
const minPasswordLength = 10

// setupState is the one-time link that lets the first visitor who holds it
// choose the admin's password, when StackHub starts with no admin and no
// STACKHUB_ADMIN_PASSWORD. Only the token's hash is kept, in memory: a
// restart offers a new link.
type setupState struct {
	mu      sync.Mutex
	hash    string
	expires time.Time
}

var (
	errTextSetupClosed = text{"初始化链接无效、已使用或已过期", "this setup link is not valid, was already used, or has expired"}
	hintSetupClosed    = text{"重启 StackHub 以获得新的初始化链接，或用 STACKHUB_ADMIN_PASSWORD 设置管理员密码", "restart StackHub to get a new link, or set the admin password with STACKHUB_ADMIN_PASSWORD"}
	errTextSetupWeak   = text{"密码至少需要 %d 个字符", "the password needs at least %d characters"}
	hintSetupWeak      = text{"请选择更长的密码", "choose a longer password"}
)

// offerSetup makes a new one-time token and returns it.
func (s *Server) offerSetup() string {
	token := randomSecret(24)
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	s.setup.hash = hashSecret(token)
	s.setup.expires = s.now().Add(setupTTL)
	return token
}

// takeSetup consumes the token if it is the valid one.
func (s *Server) takeSetup(token string) bool {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	if s.setup.hash == "" || token == "" || s.now().After(s.setup.expires) {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(token)), []byte(s.setup.hash)) != 1 {
		return false
	}
	s.setup.hash = ""
	return true
}

// setupAdmin creates the admin with the chosen password, once.
func (s *Server) setupAdmin(c *fiber.Ctx) error {
	in, err := bindStrings(c, false, "token", "password")
	if err != nil {
		return err
	}
	if len(in["password"]) < minPasswordLength {
		return &apiError{kind: engine.ErrInvalid, msg: errTextSetupWeak, msgArgs: []any{minPasswordLength}, hint: hintSetupWeak}
	}
	if !s.takeSetup(in["token"]) {
		return &apiError{kind: errForbidden, msg: errTextSetupClosed, hint: hintSetupClosed}
	}
	hash, err := HashPassword(in["password"])
	if err != nil {
		return fmt.Errorf("set up admin: %w", err)
	}
	if err := s.users.CreateUser(c.UserContext(), adminUser, hash); err != nil {
		if errors.Is(err, engine.ErrConflict) {
			return &apiError{kind: errForbidden, msg: errTextSetupClosed, hint: hintSetupClosed}
		}
		return fmt.Errorf("set up admin: %w", err)
	}
	s.log.Info("the admin user was created through the setup link", "username", adminUser)
	return c.JSON(fiber.Map{"status": "ok", "username": adminUser})
}

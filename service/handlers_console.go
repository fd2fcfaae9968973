package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/engine/accounts"
	"github.com/stackhub/stackhub/service/apitype"
)

// Routes the web console needs beyond what scripts used first: an
// installation's outputs, the host's last hour, API token lists, and the
// caller's language. They are plain API routes: a script can call them too.

// Tokens lists and revokes API tokens; *sqlite.Store implements it.
type Tokens interface {
	// ListTokens lists username's tokens, or every user's when it is "".
	ListTokens(ctx context.Context, username string) ([]accounts.Token, error)
	// DeleteToken revokes a token by its listed id; with username set,
	// only one of that user's.
	DeleteToken(ctx context.Context, username, id string) error
}

// Setting keys beside settingRegistration.
const (
	settingDefaultLang = "defaultLanguage"
	userLangPrefix     = "language.user."
)

var (
	errTextBadLang     = text{"不支持语言%q", "language %q is not supported"}
	hintBadLang        = text{"可选：zh、en，或留空跟随浏览器", "use zh or en, or leave it empty to follow the browser"}
	errTextTokensStore = text{"此存储不保存API令牌", "this store keeps no API tokens"}
)

// installationOutputs answers {"outputs":[...]}. Sensitive values are left
// empty unless ?reveal=true, which needs the operator role (the one that
// installs) and goes to the audit log.
func (s *Server) installationOutputs(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	reveal, err := queryBool(c, "reveal")
	if err != nil {
		return err
	}
	if reveal && roleRank[s.roleOf(c)] < roleRank[RoleOperator] {
		user, _ := c.Locals(localUser).(string)
		return &apiError{kind: errForbidden, msg: errTextRole, msgArgs: []any{RoleOperator, user, s.roleOf(c)}, hint: hintRole}
	}
	outs, err := s.eng.Outputs(c.UserContext(), name)
	if err != nil {
		return fmt.Errorf("outputs of %q: %w", name, err)
	}
	list := make([]apitype.Output, 0, len(outs))
	revealed := false
	for _, o := range outs {
		d := apitype.Output{Name: o.Name, Type: o.Type, Sensitive: o.Sensitive, Value: o.Value}
		if o.Sensitive {
			if reveal {
				d.Revealed, revealed = true, true
			} else {
				d.Value = ""
			}
		}
		list = append(list, d)
	}
	if revealed {
		s.audit(c, "reveal-secrets", name, "")
	}
	return c.JSON(fiber.Map{"outputs": list})
}

// serverHistory answers the host's samples of the last hour:
// {"points":[{"time","cpuPercent","memoryPercent","diskPercent","load1"}]}.
func (s *Server) serverHistory(c *fiber.Ctx) error {
	points, err := s.eng.ServerHistory(c.UserContext())
	if err != nil {
		return fmt.Errorf("server history: %w", err)
	}
	if points == nil {
		points = []engine.ServerPoint{}
	}
	return c.JSON(fiber.Map{"points": points})
}

func (s *Server) tokenStore() (Tokens, error) {
	t, ok := s.users.(Tokens)
	if !ok {
		return nil, &apiError{kind: engine.ErrUnavailable, msg: errTextTokensStore}
	}
	return t, nil
}

// listTokens answers {"tokens":[...]}: the caller's, or every user's for
// an admin. The tokens themselves are never shown again.
func (s *Server) listTokens(c *fiber.Ctx) error {
	t, err := s.tokenStore()
	if err != nil {
		return err
	}
	user, _ := c.Locals(localUser).(string)
	if s.roleOf(c) == RoleAdmin {
		user = ""
	}
	list, err := t.ListTokens(c.UserContext(), user)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	if list == nil {
		list = []accounts.Token{}
	}
	return c.JSON(fiber.Map{"tokens": list})
}

// deleteToken revokes a token by its listed id: the caller's own, or any
// for an admin.
func (s *Server) deleteToken(c *fiber.Ctx) error {
	id := c.Params("id")
	if !plainID(id) {
		return &apiError{kind: engine.ErrInvalid, msg: errTextNameBad, msgArgs: []any{shorten(id)}, hint: hintNameBad}
	}
	t, err := s.tokenStore()
	if err != nil {
		return err
	}
	user, _ := c.Locals(localUser).(string)
	owner := user
	if s.roleOf(c) == RoleAdmin {
		owner = ""
	}
	if err := t.DeleteToken(c.UserContext(), owner, id); err != nil {
		return fmt.Errorf("revoke token %q: %w", id, err)
	}
	s.audit(c, "revoke token", id, "")
	return c.JSON(fiber.Map{"id": id, "revoked": true})
}

// checkLang accepts "", "en" and "zh".
func checkLang(l string) error {
	if l != "" && l != "en" && l != "zh" {
		return &apiError{kind: engine.ErrInvalid, msg: errTextBadLang, msgArgs: []any{shorten(l)}, hint: hintBadLang}
	}
	return nil
}

// setting reads a setting, "" when unset or when the store keeps none.
func (s *Server) setting(ctx context.Context, key string) (string, error) {
	a, ok := s.users.(Accounts)
	if !ok {
		return "", nil
	}
	v, err := a.Setting(ctx, key)
	if errors.Is(err, engine.ErrNotFound) {
		return "", nil
	}
	return v, err
}

// me answers the caller's name, role and language.
func (s *Server) me(c *fiber.Ctx) error {
	user, _ := c.Locals(localUser).(string)
	ctx := c.UserContext()
	l, err := s.setting(ctx, userLangPrefix+user)
	if err == nil && l == "" {
		l, err = s.setting(ctx, settingDefaultLang)
	}
	if err != nil {
		return fmt.Errorf("read language of %q: %w", user, err)
	}
	return c.JSON(apitype.Me{Username: user, Role: s.roleOf(c), Language: l})
}

// updateMe keeps the caller's language: {"language":"zh"|"en"|""}.
func (s *Server) updateMe(c *fiber.Ctx) error {
	var req struct {
		Language string `json:"language"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkLang(req.Language); err != nil {
		return err
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	user, _ := c.Locals(localUser).(string)
	if err := a.SetSetting(c.UserContext(), userLangPrefix+user, req.Language); err != nil {
		return fmt.Errorf("set language of %q: %w", user, err)
	}
	return c.JSON(apitype.Me{Username: user, Role: s.roleOf(c), Language: req.Language})
}
